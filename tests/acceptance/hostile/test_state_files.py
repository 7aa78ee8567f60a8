"""A damaged or missing state file under `.state/postgres` is one line, and a read-only
command never starts PostgreSQL (each test has its own state folder and cluster)."""

from __future__ import annotations

import pytest

from tests.acceptance.hostile.test_local_lifecycle import machine  # noqa: F401 - fixture

pytestmark = pytest.mark.acceptance
NOT_RUNNING = "error: the local environment is not running; run `inv local.up`"


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_garbage_port_file_is_one_line_naming_it_and_starts_nothing(machine):  # noqa: F811
    port_file = machine.state / "postgres" / "port"
    port_file.parent.mkdir(parents=True)
    port_file.write_text("5432; rm -rf /\n")
    line = _one_line(machine.inv("jobs.status", "-e", "local"))
    assert line.startswith(f"error: {port_file} holds "), line
    assert "not a port number" in line and "inv local.up" in line, line
    assert not (machine.state / "postgres" / "data").exists()  # no initdb, no pg_ctl


def test_a_fresh_state_folder_is_not_started_by_a_read_only_command(machine):  # noqa: F811
    assert _one_line(machine.inv("jobs.status", "-e", "local")).startswith(NOT_RUNNING)
    assert _one_line(machine.inv("users.list", "-e", "local")).startswith(NOT_RUNNING)
    for args in (("jobs.top", "--once"), ("projects.list",), ("projects.show", "CRC"),
                 ("metadata.runs",), ("metadata.quarantine",)):  # fmt: skip
        line = _one_line(machine.inv(args[0], "-e", "local", *args[1:]))
        assert line.startswith(NOT_RUNNING), (args, line)
    assert not (machine.state / "postgres" / "data").exists()


def test_a_lost_port_file_never_makes_jobs_status_start_a_second_server(machine):  # noqa: F811
    cluster = machine.cluster
    cluster.ensure_running()
    try:
        pid_file = cluster.data_dir / "postmaster.pid"
        postmaster = pid_file.read_text().splitlines()
        log_size = cluster.log_file.stat().st_size
        cluster.port_file.unlink()
        line = _one_line(machine.inv("jobs.status", "-e", "local"))
        assert line.startswith(NOT_RUNNING) and str(cluster.port_file) in line, line
        assert pid_file.read_text().splitlines() == postmaster  # the same server, untouched
        assert cluster.log_file.stat().st_size == log_size  # pg_ctl never ran
        # local.up adopts the running server (its port from postmaster.pid) instead
        up = machine.inv("local.up")
        assert up.returncode == 0, up.stderr
        assert cluster.port_file.read_text().strip() == postmaster[3]
        assert pid_file.read_text().splitlines()[0] == postmaster[0]
        assert machine.inv("jobs.status", "-e", "local").returncode == 0
    finally:
        machine.inv("local.down")
        cluster.stop()
