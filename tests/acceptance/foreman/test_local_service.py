"""`inv local.up` starts a background foreman once; `inv local.down` stops it, then PostgreSQL.

Runs on its own embedded cluster (its own state folder), so stopping PostgreSQL here leaves
the session's cluster alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from foreman.executors.local import process_start_time
from tests.support.environments import write_environment

pytestmark = pytest.mark.acceptance


def test_local_up_is_idempotent_and_local_down_stops_foreman_then_postgres(server_tmp_path):
    environments, state = server_tmp_path / "environments", server_tmp_path / "state"
    environments.mkdir()
    write_environment(environments, "local", {
        "database": {"kind": "embedded", "name": "refinery"},
        "lake": {"backend": "filesystem", "root": "lake"},
        "executor": {"kind": "local", "concurrency": 1},
    })  # fmt: skip
    variables = {**os.environ, "REFINERY_ENVIRONMENTS_DIR": str(environments),
                 "REFINERY_STATE_DIR": str(state)}  # fmt: skip

    def inv(*args: str) -> subprocess.CompletedProcess:
        executable = str(Path(sys.executable).with_name("inv"))
        return subprocess.run(
            [executable, *args], cwd=REPO_ROOT, env=variables, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip

    try:
        first = inv("local.up")
        assert first.returncode == 0, first.stderr
        assert "foreman started (pid" in first.stdout
        pid_file = state / "local" / "foreman.pid"
        pid = int(pid_file.read_text().split(":")[0])
        assert process_start_time(pid) is not None

        second = inv("local.up")
        assert second.returncode == 0, second.stderr
        assert f"foreman already running (pid {pid}," in second.stdout
        # The product's cluster keeps its data through a machine's crash (the suite's own
        # session cluster, tests/conftest.py, does not need to).
        shown = inv("db.shell", "-e", "local", "--command", "SHOW fsync")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.split()[2] == "on", shown.stdout
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.splitlines()[:2] == ["foreman stopped", "local PostgreSQL stopped"]
    assert process_start_time(pid) is None
    assert not pid_file.exists()
    assert "stopped" in (state / "local" / "foreman.log").read_text()
