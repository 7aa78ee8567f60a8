"""Every scheduled run leaves a status record, failed ones included."""

from __future__ import annotations

import pytest

from ops.db.backups.errors import BackupError
from ops.schedule.status import recent_runs, record_run

pytestmark = pytest.mark.integration


def test_successful_and_failed_runs_are_both_recorded(make_env):
    env = make_env()
    record_run(env, "backup", lambda: "20261121T020000.000Z-logical taken and verified")

    def failing() -> str:
        raise BackupError("pg_dump exited 1: disk full")

    with pytest.raises(BackupError):
        record_run(env, "backup", failing)
    runs = recent_runs(env)
    assert [(r["job"], r["ok"]) for r in runs] == [("backup", True), ("backup", False)]
    assert runs[1]["detail"] == "pg_dump exited 1: disk full"
    assert all(r["seconds"] >= 0 for r in runs)
