"""The local and null executors, on real processes of this machine."""

from __future__ import annotations

import os
import signal
import time

import pytest

from common.environments import load_environment
from foreman.executors import executor_for
from foreman.executors.base import Submission
from foreman.executors.local import LocalExecutor, exit_reason
from foreman.executors.null import NullExecutor
from tests.support.environments import write_environment


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_ENVIRONMENTS_DIR", str(tmp_path / "envs"))
    monkeypatch.setenv("REFINERY_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "envs").mkdir()
    write_environment(tmp_path / "envs", "unit", {
        "database": {"kind": "embedded"},
        "lake": {"backend": "filesystem", "root": "lake"},
        "executor": {"kind": "local", "concurrency": 3, "queues": {"big": 1}},
    })  # fmt: skip
    return load_environment("unit")


def _submission(code: str, memory_mb: int = 1024) -> Submission:
    return Submission(job_id=7, attempt=1, kind="process", queue="default", memory_mb=memory_mb,
                      environment="unit", command=("python", "-c", code))  # fmt: skip


def _wait_finished(executor, executor_job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = executor.describe([executor_job_id])[executor_job_id]
        if status.state not in ("queued", "running"):
            return status
        time.sleep(0.05)
    raise AssertionError("the process did not finish")


def test_exit_codes_and_signals_become_reasons():
    assert exit_reason(-9) == "worker process killed by SIGKILL"
    assert exit_reason(3) == "worker process exited with code 3"


def test_local_worker_exit_code_is_reported_and_the_process_reaped(local_env):
    executor = LocalExecutor(local_env)
    executor_job_id = executor.submit(_submission("import sys; sys.exit(3)"))
    status = _wait_finished(executor, executor_job_id)
    assert (status.state, status.reason) == ("failed", "worker process exited with code 3")
    pid = int(executor_job_id.split(":")[0])
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


def test_local_worker_killed_by_sigkill_is_detected(local_env):
    executor = LocalExecutor(local_env)
    executor_job_id = executor.submit(_submission("import time; time.sleep(60)"))
    assert executor.describe([executor_job_id])[executor_job_id].state == "running"
    os.kill(int(executor_job_id.split(":")[0]), signal.SIGKILL)
    status = _wait_finished(executor, executor_job_id)
    assert (status.state, status.reason) == ("failed", "worker process killed by SIGKILL")


def test_local_worker_gets_environment_name_memory_and_an_address_space_limit(local_env):
    executor = LocalExecutor(local_env)
    code = (
        "import os, resource, sys; "
        "ok = os.environ['REFINERY_ENVIRONMENT'] == 'unit' "
        "and os.environ['REFINERY_MEMORY_MB'] == '1536' "
        "and resource.getrlimit(resource.RLIMIT_AS)[0] == 1536 * 1024 * 1024; "
        "sys.exit(0 if ok else 5)"
    )
    executor_job_id = executor.submit(_submission(code, memory_mb=1536))
    assert _wait_finished(executor, executor_job_id).state == "succeeded"


def test_another_foremans_worker_is_described_by_pid_and_start_time(local_env):
    starter, successor = LocalExecutor(local_env), LocalExecutor(local_env)
    executor_job_id = starter.submit(_submission("import time; time.sleep(60)"))
    assert successor.describe([executor_job_id])[executor_job_id].state == "running"
    successor.terminate(executor_job_id, "test")
    assert _wait_finished(starter, executor_job_id).reason == "worker process killed by SIGTERM"
    gone = successor.describe([executor_job_id])[executor_job_id]
    assert (gone.state, gone.reason) == ("unknown", "worker process is gone")
    pid = int(executor_job_id.split(":")[0])
    recycled = f"{pid}:1"  # same pid, another start time: not our worker
    assert successor.describe([recycled])[recycled].state == "unknown"


def test_local_capacity_comes_from_queues_then_concurrency(local_env):
    executor = LocalExecutor(local_env)
    assert executor.capacity("big") == 1
    assert executor.capacity("default") == 3


def test_null_executor_accepts_everything_and_records_it(tmp_path):
    record = tmp_path / "record.txt"
    executor = NullExecutor(record_path=str(record))
    ids = [executor.submit(_submission("")) for _ in range(3)]
    executor.close()
    assert len(set(ids)) == 3
    assert {s.state for s in executor.describe(ids).values()} == {"queued"}
    assert record.read_text().splitlines() == [f"7 1 {os.getpid()}"] * 3


def test_null_executor_dry_runs_within_the_capacity_the_environment_declares(local_env):
    from dataclasses import replace

    env = replace(local_env, executor=replace(local_env.executor, kind="null"))
    executor = executor_for(env)
    assert isinstance(executor, NullExecutor)
    assert executor.capacity("big") == 1  # declared
    assert executor.capacity("default") >= 1_000_000_000  # not declared: unlimited
    assert NullExecutor().capacity("big") >= 1_000_000_000  # no environment: unlimited


def test_executor_for_picks_the_environments_kind(local_env):
    assert isinstance(executor_for(local_env), LocalExecutor)
