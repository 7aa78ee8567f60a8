"""The foreman recovers from dead workers, failing handlers and its own shutdown."""

from __future__ import annotations

import os
import signal

import pytest

from common import db
from foreman.dispatch import dispatch_pending_jobs
from foreman.executors.local import LocalExecutor
from foreman.job_admin import job_status
from tests.support.foreman import enqueue, fetch, make_foreman_env, start_foreman, wait_until

pytestmark = pytest.mark.integration


def _job(env, job_id):
    return fetch(
        env,
        "SELECT state, attempt, executor_job_id, failure_reason, memory_tier FROM jobs "
        "WHERE id = %s",
        (job_id,),
    )[0]


def test_worker_killed_with_sigkill_is_retried_and_completes_exactly_once(
    make_env, session_dirs, processes
):
    env = make_foreman_env(make_env, "kill9")
    (job_id,) = enqueue(env, "test_sleep_then_record", seconds=2)
    processes.append(start_foreman(env, session_dirs["logs"]))

    def running_worker():
        state, attempt, executor_job_id, _, _ = _job(env, job_id)
        return executor_job_id if state == "running" and attempt == 1 else None

    executor_job_id = wait_until(running_worker, timeout=30, what="the worker never started")
    os.kill(int(executor_job_id.split(":")[0]), signal.SIGKILL)

    wait_until(lambda: _job(env, job_id)[0] == "succeeded", timeout=60,
               what="the job was not retried to success")  # fmt: skip
    completions = fetch(env, "SELECT attempt FROM test_completions WHERE job_id = %s", (job_id,))
    assert completions == [(2,)]
    attempts = fetch(
        env, "SELECT attempt, outcome, reason, memory_tier FROM job_attempts "
        "WHERE job_id = %s ORDER BY attempt", (job_id,),
    )  # fmt: skip
    assert attempts[0][:2] == (1, "lost")
    assert "SIGKILL" in attempts[0][2]
    assert attempts[1][:2] == (2, "succeeded")
    assert attempts[1][3] == 1  # the retry got the next memory tier


def test_failing_handler_climbs_memory_tiers_then_fails_with_the_reason(
    make_env, session_dirs, processes
):
    env = make_foreman_env(make_env, "alwaysfail")
    (job_id,) = enqueue(env, "test_always_fail")
    processes.append(start_foreman(env, session_dirs["logs"]))

    wait_until(lambda: _job(env, job_id)[0] == "failed", timeout=60, what="the job never failed")
    _state, attempt, _, reason, _ = _job(env, job_id)
    assert attempt == 3
    assert reason == ("gave up after 3 attempts: RuntimeError: failing on purpose with 2048 MB")
    attempts = fetch(
        env, "SELECT attempt, memory_tier, outcome, reason FROM job_attempts "
        "WHERE job_id = %s ORDER BY attempt", (job_id,),
    )  # fmt: skip
    assert [(a, tier, outcome) for a, tier, outcome, _ in attempts] == [
        (1, 0, "errored"), (2, 1, "errored"), (3, 2, "errored"),
    ]  # fmt: skip
    assert next(r for *_, r in attempts) == "RuntimeError: failing on purpose with 1024 MB"
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(0,)]


def test_sigterm_to_a_worker_marks_its_attempt_errored(make_env):
    env = make_foreman_env(make_env, "workerterm")
    (job_id,) = enqueue(env, "test_sleep_then_record", seconds=30)
    executor = LocalExecutor(env)
    conn = db.connect(env)
    try:
        assert dispatch_pending_jobs(conn, env, executor) == 1
    finally:
        conn.close()
    wait_until(lambda: _job(env, job_id)[0] == "running", timeout=30, what="worker never ran")
    executor_job_id = _job(env, job_id)[2]
    executor.terminate(executor_job_id, "test")

    def ended():
        status = executor.describe([executor_job_id])[executor_job_id]
        return status if status.state not in ("queued", "running") else None

    status = wait_until(ended, timeout=30, what="the worker did not exit on SIGTERM")
    assert status.reason == "worker process exited with code 143"
    state, _, _, reason, _ = _job(env, job_id)
    assert (state, reason) == ("errored", "terminated by signal SIGTERM")
    assert fetch(env, "SELECT outcome FROM job_attempts WHERE job_id = %s", (job_id,)) == [
        ("errored",)
    ]
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(0,)]


def test_sigterm_stops_the_foreman_gracefully(make_env, session_dirs, processes):
    env = make_foreman_env(make_env, "foremanterm")
    foreman = start_foreman(env, session_dirs["logs"])
    processes.append(foreman)
    wait_until(
        lambda: fetch(env, "SELECT 1 FROM foreman_heartbeats WHERE pid = %s AND role = 'leader'",
                      (foreman.pid,)),
        timeout=30, what="the foreman never became leader",
    )  # fmt: skip
    conn = db.connect(env)
    try:
        (beat,) = job_status(conn).foremen
    finally:
        conn.close()
    assert beat.role == "leader" and f":{foreman.pid}:" in beat.foreman_id
    assert beat.seconds_since_beat < 10  # monitoring's view of a live leader

    foreman.send_signal(signal.SIGTERM)
    assert foreman.wait(timeout=30) == 0
    assert fetch(env, "SELECT role FROM foreman_heartbeats WHERE pid = %s", (foreman.pid,)) == [
        ("stopped",)
    ]
    # The leader lock was released: another session can take it at once.
    from foreman.loop import LEADER_LOCK_KEY

    assert fetch(env, "SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)) == [(True,)]


def test_a_job_the_executor_refuses_is_retried_then_failed_with_the_reason(make_env):
    from foreman.dispatch import settle_errored_jobs

    env = make_foreman_env(make_env, "refused", retry_delay_seconds=0)
    (job_id,) = enqueue(env, "test_record")
    executor = LocalExecutor(env)
    executor.log_dir.rmdir()
    executor.log_dir.write_text("a file where the workers' log folder should be")
    conn = db.connect(env)
    try:
        for _ in range(3):
            assert dispatch_pending_jobs(conn, env, executor) == 1
            settle_errored_jobs(conn, env)
    finally:
        conn.close()
    state, attempt, _, reason, tier = _job(env, job_id)
    assert (state, attempt, tier) == ("failed", 3, 2)
    assert reason.startswith("gave up after 3 attempts: executor local refused the job: ")
    assert "Not a directory" in reason
    outcomes = fetch(env, "SELECT outcome FROM job_attempts WHERE job_id = %s", (job_id,))
    assert outcomes == [("lost",)] * 3
