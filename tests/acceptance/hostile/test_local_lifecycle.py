"""Stopped means stopped: the local environment's lifecycle with real processes.

Each test has its own state folder (and so its own embedded cluster), so stopping PostgreSQL
here leaves the session's cluster alone. Foremen are found by scanning /proc, not through the
pid file or registry the code under test keeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from common.embedded import EmbeddedCluster
from common.environments import REPO_ROOT, load_environment
from foreman.exporter import metrics_addresses
from tests.support.environments import write_environment
from tests.support.foreman import wait_until

pytestmark = pytest.mark.acceptance
INV = str(Path(sys.executable).with_name("inv"))
STOPPED_LINE = "error: the local environment is stopped; run `inv local.up`"


class LocalMachine:
    """A private `local` environment: its own environments and state folders."""

    def __init__(self, root: Path) -> None:
        self.environments, self.state = root / "environments", root / "state"
        self.environments.mkdir(parents=True)
        write_environment(self.environments, "local", {
            "database": {"kind": "embedded", "name": "refinery"},
            "lake": {"backend": "filesystem", "root": "lake"},
            "executor": {"kind": "local", "concurrency": 1},
            "foreman": {"poll_seconds": 0.3, "takeover_seconds": 0.2, "heartbeat_seconds": 0.3},
        })  # fmt: skip
        self.variables = {
            **os.environ,
            "REFINERY_ENVIRONMENTS_DIR": str(self.environments),
            "REFINERY_STATE_DIR": str(self.state),
        }
        self.cluster = EmbeddedCluster(self.state / "postgres")

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [INV, *args], cwd=REPO_ROOT, env=self.variables, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip

    def inv(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [INV, *args], cwd=REPO_ROOT, env=self.variables, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def foreman_processes(self) -> list[int]:
        """Live processes running a foreman with this state folder (from /proc)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                environ = (entry / "environ").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            runs_foreman = (b"foreman" in argv and b"run" in argv) or b"foreman.run" in argv
            ours = f"REFINERY_STATE_DIR={self.state}".encode() in environ
            if runs_foreman and ours and state != "Z":
                found.append(int(entry.name))
        return sorted(found)

    def postgres_running(self) -> bool:
        return self.cluster.is_running()

    def background_foreman(self) -> int:
        return int((self.state / "local" / "foreman.pid").read_text().split(":")[0])

    def recorded_metrics(self) -> dict[int, str]:
        """What the foremen recorded, read the way any reader of the records does."""
        with pytest.MonkeyPatch.context() as patch:
            for key in ("REFINERY_ENVIRONMENTS_DIR", "REFINERY_STATE_DIR"):
                patch.setenv(key, self.variables[key])
            return metrics_addresses(load_environment("local"))


@pytest.fixture
def machine(server_tmp_path):
    local = LocalMachine(server_tmp_path)
    yield local
    local.inv("local.down")
    for pid in local.foreman_processes():  # whatever a failed test left behind
        os.kill(pid, signal.SIGKILL)


def test_parallel_local_up_leaves_exactly_one_background_foreman(machine):
    starts = [machine.start("local.up") for _ in range(3)]
    outputs = [process.communicate(timeout=300) for process in starts]
    assert [process.returncode for process in starts] == [0, 0, 0], outputs
    assert sum("foreman started" in out for out, _ in outputs) == 1, outputs
    assert sum("foreman already running" in out for out, _ in outputs) == 2, outputs
    time.sleep(1)  # a second foreman, had one started, would be running by now
    foremen = machine.foreman_processes()
    assert len(foremen) == 1, foremen
    pid_file = machine.state / "local" / "foreman.pid"
    assert int(pid_file.read_text().split(":")[0]) == foremen[0]


def test_local_down_stops_a_hand_started_standby_too_and_nothing_restarts_postgres(machine):
    up = machine.inv("local.up")
    assert up.returncode == 0, up.stderr
    standby = machine.start("foreman.run", "-e", "local")
    wait_until(lambda: len(machine.foreman_processes()) == 2, timeout=30,
               what="the standby foreman to start")  # fmt: skip
    time.sleep(1)  # let it connect and stand by

    down = machine.inv("local.down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.splitlines()[0].startswith("2 foremen stopped")
    standby.wait(timeout=30)
    assert machine.foreman_processes() == []
    time.sleep(3)  # a foreman or command that restarts it would have done so by now
    assert not machine.postgres_running()
    assert (machine.state / "postgres" / "stopped").exists()


def test_commands_after_local_down_refuse_in_one_line_and_never_start_postgres(machine):
    assert machine.inv("local.up").returncode == 0
    assert machine.inv("local.down").returncode == 0
    for args in (("jobs.status", "-e", "local"), ("db.backup", "-e", "local"),
                 ("foreman.run", "-e", "local")):  # fmt: skip
        result = machine.inv(*args)
        assert result.returncode != 0, args
        assert result.stderr.strip().splitlines() == [STOPPED_LINE], args
        assert "Traceback" not in result.stderr
    foreman = subprocess.run(
        [sys.executable, "-m", "foreman", "run", "-e", "local"], cwd=REPO_ROOT,
        env=machine.variables, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert foreman.returncode != 0 and STOPPED_LINE in foreman.stderr
    assert not machine.postgres_running()

    again = machine.inv("local.up")
    assert again.returncode == 0, again.stderr
    status = machine.inv("jobs.status", "-e", "local")
    assert status.returncode == 0, status.stderr
    assert not (machine.state / "postgres" / "stopped").exists()


def test_two_checkouts_foremen_each_serve_metrics_on_a_free_port_they_record(server_tmp_path):
    first, second = (LocalMachine(server_tmp_path / name) for name in ("a", "b"))
    try:
        addresses = []
        for machine in (first, second):
            up = machine.inv("local.up")
            assert up.returncode == 0, up.stderr
            assert "Traceback" not in up.stderr and "not started" not in up.stderr
            line = next(x for x in up.stdout.splitlines() if x.startswith("metrics on "))
            address = line.removeprefix("metrics on http://").removesuffix("/metrics")
            assert machine.recorded_metrics() == {machine.background_foreman(): address}
            addresses.append(address)
        assert addresses[0] != addresses[1] and all(a.startswith("127.0.0.1:") for a in addresses)
        for address in addresses:
            scrape = requests.get(f"http://{address}/metrics", timeout=10)
            assert scrape.status_code == 200 and "refinery_foremen" in scrape.text
    finally:
        for machine in (first, second):
            machine.inv("local.down")
    assert first.recorded_metrics() == {} and second.recorded_metrics() == {}


def test_a_foreman_of_a_stopped_environment_binds_and_records_nothing(machine):
    assert machine.inv("local.up").returncode == 0
    assert machine.inv("local.down").returncode == 0
    result = machine.inv("foreman.run", "-e", "local")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [STOPPED_LINE]
    assert not list((machine.state / "local" / "metrics").glob("*"))
