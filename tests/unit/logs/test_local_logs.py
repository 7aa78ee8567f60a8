"""Local logs: files under the environment's state folder, filtered and followed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, STATE_DIR_VARIABLE, load_environment
from common.errors import ValidationError
from foreman.executors.local import worker_log_path
from ops.logs.local import follow_local_logs, parse_since, read_local_logs
from tests.support.environments import write_environment

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    folder = tmp_path / "environments"
    folder.mkdir()
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(folder))
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "state"))
    write_environment(
        folder,
        "dev",
        {
            "database": {"kind": "embedded"},
            "lake": {"backend": "filesystem", "root": "lake"},
            "executor": {"kind": "local"},
        },
    )
    env = load_environment("dev")
    (env.state_dir / "foreman.log").write_text(
        "2026-11-21T09:00:00Z dispatched job 7\n"
        "2026-11-21T11:30:00Z dispatched job 8\n"
        "  continuation of the 11:30 line\n"
    )
    worker_log_path(env, 7, 1).parent.mkdir(parents=True)
    worker_log_path(env, 7, 1).write_text("2026-11-21 11:45:00,123 [INFO] downloading SRR000001\n")
    worker_log_path(env, 12, 1).write_text("2026-11-21T11:50:00 ERROR checksum mismatch\n")
    return env


def test_parse_since_accepts_awslogs_units_and_rejects_others():
    assert parse_since("30m") == timedelta(minutes=30)
    assert parse_since("2d") == timedelta(days=2)
    with pytest.raises(ValidationError, match="invalid --since"):
        parse_since("yesterday")


def test_reads_foreman_then_jobs_in_id_order(local_env):
    lines = list(read_local_logs(local_env))
    assert [line.source for line in lines] == [
        "foreman.log",
        "foreman.log",
        "foreman.log",
        "job-7-1.log",
        "job-12-1.log",
    ]


def test_since_drops_old_lines_and_keeps_continuations(local_env):
    lines = list(read_local_logs(local_env, since=timedelta(hours=1), now=NOW))
    texts = [line.text for line in lines]
    assert "2026-11-21T09:00:00Z dispatched job 7" not in texts
    assert "  continuation of the 11:30 line" in texts
    assert len(texts) == 4


def test_filter_and_job_select_lines(local_env):
    assert [line.text for line in read_local_logs(local_env, pattern="checksum")] == [
        "2026-11-21T11:50:00 ERROR checksum mismatch"
    ]
    assert [line.source for line in read_local_logs(local_env, job_id=7)] == ["job-7-1.log"]
    assert list(read_local_logs(local_env, pattern="[INFO]")) != []  # not a broken regex


def test_unknown_job_log_is_a_clear_error(local_env):
    with pytest.raises(ValidationError, match="no log for job 99"):
        list(read_local_logs(local_env, job_id=99))


def test_follow_yields_only_new_whole_lines(local_env):
    stop = threading.Event()
    seen: list[str] = []

    def collect():
        for line in follow_local_logs(local_env, interval=0.05, stop=stop.is_set):
            seen.append(f"{line.source}:{line.text}")

    thread = threading.Thread(target=collect)
    thread.start()
    time.sleep(0.2)
    with worker_log_path(local_env, 7, 1).open("a") as handle:
        handle.write("new line\npartial")
    worker_log_path(local_env, 13, 1).write_text("fresh job\n")
    time.sleep(0.3)
    stop.set()
    thread.join(5)
    assert seen == ["job-7-1.log:new line", "job-13-1.log:fresh job"]
