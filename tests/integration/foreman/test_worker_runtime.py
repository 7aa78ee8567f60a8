"""`python -m workers run-job JOB_ID`: one attempt, committed with the handler's writes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from common import db
from common.environments import REPO_ROOT
from common.errors import ExitCode
from common.worker_identity import standby_order
from foreman.dispatch import dispatch_pending_jobs
from foreman.executors.null import NullExecutor
from tests.support.foreman import enqueue, fetch, make_foreman_env, wait_until

pytestmark = pytest.mark.integration


def _dispatch(env) -> None:
    """Claim every pending job for the null executor, so the test starts the worker itself."""
    conn = db.connect(env)
    try:
        dispatch_pending_jobs(conn, env, NullExecutor())
    finally:
        conn.close()


def _run_job(env, job_id, *extra: str, environment: str | None = None, batch_job_id=None):
    variables = {**os.environ}
    variables.pop("REFINERY_ENVIRONMENT", None)
    variables.pop("AWS_BATCH_JOB_ID", None)
    if environment:
        variables["REFINERY_ENVIRONMENT"] = environment
    if batch_job_id:
        variables["AWS_BATCH_JOB_ID"] = batch_job_id
    return subprocess.run(
        [sys.executable, "-m", "workers", "run-job", str(job_id), *extra],
        cwd=REPO_ROOT, env=variables, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _job(env, job_id):
    return fetch(env, "SELECT state, failure_reason, result FROM jobs WHERE id = %s", (job_id,))[0]


def test_success_commits_the_handlers_writes_and_a_rerun_changes_nothing(make_env):
    env = make_foreman_env(make_env, "runok")
    (job_id,) = enqueue(env, "test_record")
    _dispatch(env)
    first = _run_job(env, job_id, environment=env.name)
    assert first.returncode == 0, first.stderr
    assert _job(env, job_id) == ("succeeded", None, {"recorded": True})
    assert fetch(env, "SELECT outcome FROM job_attempts WHERE job_id = %s", (job_id,)) == [
        ("succeeded",)
    ]
    again = _run_job(env, job_id, "-e", env.name)
    assert again.returncode == ExitCode.SUPERSEDED, again.stderr
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(1,)]


def test_a_worker_runs_its_application_at_the_niceness_the_application_declares(make_env):
    env = make_foreman_env(make_env, "runnice")
    (job_id,) = enqueue(env, "test_report_niceness")
    _dispatch(env)
    ran = _run_job(env, job_id, "-e", env.name)
    assert ran.returncode == 0, ran.stderr
    assert _job(env, job_id) == ("succeeded", None, {"niceness": os.nice(0) + 7})


def test_a_worker_records_the_executor_job_it_ran_as_beside_its_host_and_pid(make_env):
    env = make_foreman_env(make_env, "runas")
    first, second = enqueue(env, "test_record", count=2)
    _dispatch(env)
    assert _run_job(env, first, "-e", env.name, batch_job_id="0f1e2d3c:7").returncode == 0
    assert _run_job(env, second, "-e", env.name).returncode == 0
    recorded = fetch(env, "SELECT job_id, worker_id, worker_executor_job_id FROM job_attempts"
                          " ORDER BY job_id")  # fmt: skip
    assert [(job_id, ran_as) for job_id, _, ran_as in recorded] == [
        (first, "0f1e2d3c:7"),  # what Batch told the container it is
        (second, None),  # not on Batch: nothing claimed
    ]
    assert all(worker_id.rsplit(":", 1)[1].isdigit() for _, worker_id, _ in recorded)


def test_handler_failure_rolls_back_its_writes_and_records_the_reason(make_env):
    env = make_foreman_env(make_env, "runfail")
    (job_id,) = enqueue(env, "test_always_fail")
    _dispatch(env)
    result = _run_job(env, job_id, "-e", env.name)
    assert result.returncode == 1
    state, reason, _ = _job(env, job_id)
    assert (state, reason) == ("errored", "RuntimeError: failing on purpose with 1024 MB")
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(0,)]


def _permanent(env, job_id) -> bool:
    return fetch(env, "SELECT permanent FROM jobs WHERE id = %s", (job_id,))[0][0]


def test_unknown_handler_is_a_permanently_errored_attempt_naming_it(make_env):
    env = make_foreman_env(make_env, "runnohandler")
    (job_id,) = enqueue(env, "no_such_application")
    _dispatch(env)
    assert _run_job(env, job_id, "-e", env.name).returncode == 1
    state, reason, _ = _job(env, job_id)
    assert state == "errored"
    assert reason.startswith("PermanentJobError: no process handler named 'no_such_application'")
    assert _permanent(env, job_id) is True


def test_malformed_input_is_permanent_and_other_failures_are_not(make_env):
    env = make_foreman_env(make_env, "runpermanent")
    malformed, failing = (
        enqueue(env, "test_malformed_input")[0],
        enqueue(env, "test_always_fail")[0],
    )
    _dispatch(env)
    assert _run_job(env, malformed, "-e", env.name).returncode == 1
    assert _run_job(env, failing, "-e", env.name).returncode == 1
    assert _job(env, malformed)[:2] == (
        "errored",
        "ValidationError: the input is malformed on purpose",
    )
    assert _permanent(env, malformed) is True
    assert _permanent(env, failing) is False
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(0,)]


def test_a_job_that_was_not_dispatched_is_not_run(make_env):
    env = make_foreman_env(make_env, "runpending")
    (job_id,) = enqueue(env, "test_record")
    assert _run_job(env, job_id, "-e", env.name).returncode == ExitCode.SUPERSEDED
    assert _job(env, job_id)[0] == "pending"


def test_without_an_environment_the_worker_exits_with_a_usage_error(make_env):
    result = _run_job(None, 1)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no environment: pass -e ENV or set REFINERY_ENVIRONMENT"


def _spare_backends(env, since) -> list[int]:
    """Backends of `env`'s database opened by a worker after `since` (the database's clock)."""
    rows = fetch(
        env,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = %s AND backend_start > %s AND pid <> pg_backend_pid()",
        (f"refinery:{env.name}", since),
    )
    return [pid for (pid,) in rows]


@pytest.mark.parametrize("broken", [0, 2])
def test_a_spare_connects_while_it_waits_and_replaces_what_broke(make_env, tmp_path, broken):
    env = make_foreman_env(make_env, f"spare{broken}")
    (job_id,) = enqueue(env, "test_record")
    _dispatch(env)
    ((since,),) = fetch(env, "SELECT clock_timestamp()")
    variables = {**os.environ, "REFINERY_ENVIRONMENT": env.name}
    spare = subprocess.Popen(
        [sys.executable, "-m", "workers", "standby"], cwd=REPO_ROOT, env=variables,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # before any job: its control and work connections are open
        backends = wait_until(lambda: len(_spare_backends(env, since)) == 2 and
                              _spare_backends(env, since), timeout=60,
                              what="the spare never opened its two connections")  # fmt: skip
        for pid in backends[:broken]:  # as a restarted database or an idle timeout would
            fetch(env, "SELECT pg_terminate_backend(%s)", (pid,))
        log = tmp_path / "job.log"
        spare.communicate(standby_order(job_id, 512, str(log)), timeout=120)
    finally:
        if spare.poll() is None:
            spare.kill()
            spare.wait()
    assert spare.returncode == 0, log.read_text() if log.exists() else ""
    assert _job(env, job_id) == ("succeeded", None, {"recorded": True})
    assert f"job {job_id} attempt 1 succeeded" in log.read_text()
