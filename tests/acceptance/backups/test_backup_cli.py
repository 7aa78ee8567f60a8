"""Whole loops through `inv`: the commands people and timers run, including a restore that
is SIGKILLed half way and a foreman (a real stand-in process) that must be stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import db
from ops.db.backups.catalog import list_backups
from ops.db.backups.settings import backup_settings
from tests.integration.backups.conftest import catalog_contents, fill_catalog

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[3]
INV = str(Path(sys.executable).with_name("inv"))


def inv(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [INV, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if check and result.returncode != 0:
        pytest.fail(f"inv {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def _fill_bulk(env, rows: int) -> None:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO projects (source, accession, title) "
            "SELECT 'bulk', 'B' || g, repeat(md5(g::text), 8) FROM generate_series(1, %s) g",
            (rows,),
        )


def test_backup_list_verify_prune_through_inv(make_env):
    env = make_env(backups={"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0})
    fill_catalog(env, projects=5)
    inv("db.backup", "-e", env.name, "--note", "first")
    inv("db.backup", "-e", env.name, "--note", "second")
    listing = json.loads(inv("db.backups", "-e", env.name, "--json").stdout)
    assert [b["note"] for b in listing] == ["first", "second"]
    assert all(b["verified"] is None for b in listing)
    verified = inv("db.verify", "-e", env.name, listing[0]["name"])
    assert "verified" in verified.stdout
    dry = inv("db.prune", "-e", env.name)
    assert "would delete" not in dry.stdout  # the first is the newest verified one: kept
    inv("db.verify", "-e", env.name, "latest")
    dry = inv("db.prune", "-e", env.name)
    assert f"would delete {listing[0]['name']}" in dry.stdout
    assert len(list_backups(backup_settings(env).directory)) == 2
    inv("db.prune", "-e", env.name, "--execute")
    assert [b.name for b in list_backups(backup_settings(env).directory)] == [listing[1]["name"]]
    table = inv("db.backups", "-e", env.name).stdout
    assert listing[1]["name"] in table and "yes" in table


def test_unknown_backup_name_is_one_line_and_non_zero(make_env):
    env = make_env()
    for command in ("db.verify", "db.restore"):
        result = inv(command, "-e", env.name, "20990101T000000.000Z-logical", check=False)
        assert result.returncode != 0
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and "no backup named" in lines[0], result.stderr


def test_restore_is_a_dry_run_by_default_and_prod_needs_confirmation(make_env):
    env = make_env("prod")
    fill_catalog(env, projects=3)
    inv("db.backup", "-e", "prod")
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM samples")
    expected = catalog_contents(env)
    dry = inv("db.restore", "-e", "prod", "latest")
    assert "dry run" in dry.stdout and "would replace database" in dry.stdout
    refused = inv("db.restore", "-e", "prod", "latest", "--execute", check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert catalog_contents(env) == expected


def test_restore_stops_the_foreman_and_brings_back_the_data(make_env):
    env = make_env()
    fill_catalog(env, projects=8)
    before = catalog_contents(env)
    inv("db.backup", "-e", env.name)
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("UPDATE projects SET title = 'overwritten'")
    # A real process stands in for the foreman: restore must find it by its pid file and stop it.
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    start = Path(f"/proc/{stand_in.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    (env.state_dir / "foreman.pid").write_text(f"{stand_in.pid}:{start}\n")
    try:
        result = inv("db.restore", "-e", env.name, "latest", "--execute", "--json")
        assert stand_in.wait(timeout=10) == -signal.SIGTERM
    finally:
        if stand_in.poll() is None:
            stand_in.kill()
        _stop_restarted_foreman(env, stand_in.pid)
    outcome = json.loads(result.stdout)
    assert outcome["pending_migrations"] == []
    assert "foreman" in outcome["writers"]  # restarted, or told how to start it
    assert catalog_contents(env) == before


def _stop_restarted_foreman(env, stand_in_pid: int) -> None:
    """Once the foreman service is installed the restore restarts a real foreman: stop it."""
    pid_file = env.state_dir / "foreman.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split(":")[0])
    if pid != stand_in_pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    pid_file.unlink(missing_ok=True)


@pytest.mark.slow
def test_a_restore_killed_half_way_leaves_the_live_database_intact(make_env):
    env = make_env()
    fill_catalog(env, projects=5)
    _fill_bulk(env, 150_000)
    inv("db.backup", "-e", env.name)
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM projects WHERE source = 'bulk' AND id % 2 = 0")
    expected = catalog_contents(env)
    process = subprocess.Popen(
        [INV, "db.restore", "-e", env.name, "latest", "--execute"],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    prefix = f"{env.database.name}_restore_"
    killed_while_restoring = False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with db.maintenance_connection(env) as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE left(datname, %s) = %s",
                    (len(prefix), prefix),
                )
                if cur.fetchone()[0] > 0:  # pg_restore is loading the new database
                    os.killpg(process.pid, signal.SIGKILL)
                    killed_while_restoring = True
                    break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    assert killed_while_restoring, "the restore finished before it could be killed half way"
    assert catalog_contents(env) == expected
    # The next restore cleans up what the killed one left and succeeds.
    inv("db.restore", "-e", env.name, "latest", "--execute")
    with db.maintenance_connection(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE left(datname, %s) = %s",
                    (len(prefix), prefix))  # fmt: skip
        assert cur.fetchone()[0] == 0
    assert len(catalog_contents(env)["projects"]) == 150_005


def test_scheduled_backup_records_its_run_and_schedule_units_render(make_env, tmp_path):
    env = make_env(schedule={"backup": "*-*-* 02:00:00", "seal": "*:0/15"})
    fill_catalog(env, projects=2)
    inv("db.scheduled-backup", "-e", env.name)
    backups = json.loads(inv("db.backups", "-e", env.name, "--json").stdout)
    assert len(backups) == 1 and backups[0]["verified"] is True
    runs = json.loads(inv("schedule.status", "-e", env.name, "--json").stdout)["runs"]
    assert runs[-1]["job"] == "backup" and runs[-1]["ok"] is True
    unit_dir = tmp_path / "units"
    dry = inv("schedule.install", "-e", env.name, "--kind", "systemd", "--unit-dir", str(unit_dir))
    assert "OnCalendar=*-*-* 02:00:00" in dry.stdout and not unit_dir.exists()
    inv("schedule.install", "-e", env.name, "--kind", "systemd", "--unit-dir", str(unit_dir),
        "--execute")  # fmt: skip
    names = sorted(p.name for p in unit_dir.iterdir())
    assert names == [f"refinery-{job}-{env.name}.{suffix}"
                     for job in ("backup", "seal") for suffix in ("service", "timer")]  # fmt: skip
    service = (unit_dir / f"refinery-backup-{env.name}.service").read_text()
    assert f"db.scheduled-backup -e {env.name}" in service
    seal_timer = (unit_dir / f"refinery-seal-{env.name}.timer").read_text()
    assert "OnCalendar=*:0/15" in seal_timer
    cron_dir = tmp_path / "cron"
    inv("schedule.install", "-e", env.name, "--kind", "cron", "--cron-dir", str(cron_dir),
        "--execute")  # fmt: skip
    cron = (cron_dir / f"refinery-{env.name}").read_text()
    assert "0 2 * * * root" in cron and "*/15 * * * * root" in cron


def test_a_backup_killed_half_way_is_listed_and_pruned_as_a_leftover(make_env):
    env = make_env()
    fill_catalog(env, projects=5)
    _fill_bulk(env, 150_000)
    directory = backup_settings(env).directory
    process = subprocess.Popen(
        [INV, "db.backup", "-e", env.name, "--note", "doomed"],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    killed_while_dumping = False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if any((partial / "dump").exists() for partial in directory.glob(".partial-*")):
                os.killpg(process.pid, signal.SIGKILL)  # the backup and its pg_dump, at once
                killed_while_dumping = True
                break
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    assert killed_while_dumping, "the backup finished before it could be killed half way"
    (partial,) = directory.glob(".partial-*")
    listing = json.loads(inv("db.backups", "-e", env.name, "--json").stdout)
    assert [(b["name"], b["kind"], b["state"]) for b in listing] == [
        (partial.name, "partial", "abandoned")
    ]
    table = subprocess.run(
        [INV, "db.backups", "-e", env.name], cwd=REPO, capture_output=True, text=True,
        timeout=120, env={**os.environ, "COLUMNS": "250"},
    ).stdout  # fmt: skip
    assert partial.name in table and "partial (abandoned)" in table
    dry = inv("db.prune", "-e", env.name)
    assert f"would delete {partial.name}" in dry.stdout and partial.exists()
    inv("db.prune", "-e", env.name, "--execute")
    assert not partial.exists()
    inv("db.backup", "-e", env.name, "--note", "whole")
    assert [b.note for b in list_backups(directory)] == ["whole"]


def test_backups_started_at_once_both_succeed_under_names_of_their_own(make_env):
    env = make_env()
    fill_catalog(env, projects=2)
    started = [
        subprocess.Popen([INV, "db.backup", "-e", env.name, "--note", f"n{i}"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(3)
    ]  # fmt: skip
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in started]
    for process in started:
        process.stdout.close()
        process.stderr.close()
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    backups = list_backups(backup_settings(env).directory)
    assert sorted(b.note for b in backups) == ["n0", "n1", "n2"]
    assert len({b.name for b in backups}) == 3
