"""`inv jobs.status | jobs.retry | jobs.cancel | foreman.run | bench.foreman`, end to end."""

from __future__ import annotations

import json
import select

import pytest

from common import db
from foreman.dispatch import dispatch_pending_jobs
from foreman.executors.local import LocalExecutor, process_start_time
from tests.support.bench import assert_json_shape, assert_table_shape
from tests.support.foreman import enqueue, fetch, make_foreman_env, wait_until

pytestmark = pytest.mark.acceptance


def _fail(env, job_id, reason="gave up after 3 attempts: RuntimeError: disk full"):
    fetch(env, "UPDATE jobs SET state = 'failed', attempt = 3, ended_at = now(), "
               "failure_reason = %s WHERE id = %s RETURNING id", (reason, job_id))  # fmt: skip


def _state(env, job_id):
    return fetch(env, "SELECT state, attempt, max_attempts FROM jobs WHERE id = %s", (job_id,))[0]


def test_status_counts_jobs_by_kind_and_state_and_lists_failures(make_env, inv):
    env = make_foreman_env(make_env, "status")
    _, second, _ = enqueue(env, "test_record", count=3)
    _fail(env, second)

    result = inv("jobs.status", "-e", env.name, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"kind": "process", "state": "pending", "jobs": 2} in report["counts"]
    assert {"kind": "process", "state": "failed", "jobs": 1} in report["counts"]
    assert report["recent_failures"][0]["id"] == second
    assert report["recent_failures"][0]["reason"].endswith("RuntimeError: disk full")

    table = inv("jobs.status", "-e", env.name)
    assert table.returncode == 0, table.stderr
    assert "recent failures" in table.stdout and "disk full" in table.stdout
    assert "no foreman is leading" in table.stdout
    assert report["foremen"] == []

    only_failed = json.loads(
        inv("jobs.status", "-e", env.name, "--json", "--state", "failed").stdout
    )
    assert only_failed["counts"] == [{"kind": "process", "state": "failed", "jobs": 1}]


def test_status_rejects_an_unknown_state_in_one_line(make_env, inv):
    env = make_foreman_env(make_env, "badstate")
    result = inv("jobs.status", "-e", env.name, "--state", "bogus")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: unknown job state 'bogus' (one of waiting, pending, dispatched, running, "
        "succeeded, errored, failed, cancelled)"
    ]


def test_retry_renews_the_attempt_budget_and_wakes_the_foreman(make_env, inv):
    env = make_foreman_env(make_env, "retry")
    (job_id,) = enqueue(env, "test_record")
    _fail(env, job_id)
    listener = db.connect(env, autocommit=True)
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN refinery_jobs")
        result = inv("jobs.retry", "-e", env.name, str(job_id))
        assert result.returncode == 0, result.stderr
        assert f"job {job_id} is pending again" in result.stdout
        assert _state(env, job_id) == ("pending", 3, 6)
        assert select.select([listener], [], [], 10)[0], "no NOTIFY after the retry"
        listener.poll()
        assert [n.channel for n in listener.notifies] == ["refinery_jobs"]
    finally:
        listener.close()


def test_retry_all_failed_retries_only_failed_jobs(make_env, inv):
    env = make_foreman_env(make_env, "retryall")
    pending, failed_one, failed_two = enqueue(env, "test_record", count=3)
    _fail(env, failed_one)
    _fail(env, failed_two)
    result = inv("jobs.retry", "-e", env.name, "--all-failed")
    assert result.returncode == 0, result.stderr
    assert "2 jobs are pending again" in result.stdout
    assert [_state(env, i)[0] for i in (pending, failed_one, failed_two)] == ["pending"] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("jobs.retry", "999999"), "error: job 999999 does not exist"),
        (("jobs.cancel", "999999"), "error: job 999999 does not exist"),
        (("jobs.retry", "abc"), "error: job id must be a whole number, not 'abc'"),
        (
            ("jobs.retry",),
            "error: inv jobs.retry needs JOB_ID or --all-failed (see inv jobs.retry --help)",
        ),
        (("jobs.retry", "5", "--all-failed"), "error: give a JOB_ID or --all-failed, not both"),
    ],
)
def test_bad_job_ids_fail_with_one_line_and_change_nothing(make_env, inv, args, message):
    env = make_foreman_env(make_env, "badid")
    (job_id,) = enqueue(env, "test_record")
    result = inv(args[0], "-e", env.name, *args[1:])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [message]
    assert _state(env, job_id) == ("pending", 0, 3)


def test_retry_refuses_a_job_that_has_not_failed(make_env, inv):
    env = make_foreman_env(make_env, "notfailed")
    (job_id,) = enqueue(env, "test_record")
    result = inv("jobs.retry", "-e", env.name, str(job_id))
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"error: job {job_id} is pending; only failed or cancelled jobs can be retried"
    )
    assert _state(env, job_id) == ("pending", 0, 3)


def test_cancel_a_pending_job_then_a_second_cancel_is_refused(make_env, inv):
    env = make_foreman_env(make_env, "cancelpending")
    (job_id,) = enqueue(env, "test_record")
    result = inv("jobs.cancel", "-e", env.name, str(job_id))
    assert result.returncode == 0, result.stderr
    assert f"job {job_id} cancelled; it was pending" in result.stdout
    assert _state(env, job_id)[0] == "cancelled"
    again = inv("jobs.cancel", "-e", env.name, str(job_id))
    assert again.returncode != 0
    assert again.stderr.strip() == f"error: job {job_id} is already cancelled; nothing to cancel"


def test_cancel_a_running_job_terminates_its_worker_and_it_stays_cancelled(make_env, inv):
    env = make_foreman_env(make_env, "cancelrunning")
    (job_id,) = enqueue(env, "test_sleep_then_record", seconds=60)
    executor = LocalExecutor(env)
    conn = db.connect(env)
    try:
        dispatch_pending_jobs(conn, env, executor)
    finally:
        conn.close()
    wait_until(lambda: _state(env, job_id)[0] == "running", timeout=30, what="worker never ran")
    executor_job_id = fetch(env, "SELECT executor_job_id FROM jobs WHERE id = %s", (job_id,))[0][0]

    result = inv("jobs.cancel", "-e", env.name, str(job_id))
    assert result.returncode == 0, result.stderr
    assert f"worker {executor_job_id} terminated" in result.stdout

    pid = int(executor_job_id.split(":")[0])
    wait_until(lambda: executor.describe([executor_job_id])[executor_job_id].state == "failed",
               timeout=30, what="the worker did not stop")  # fmt: skip
    assert process_start_time(pid) is None
    assert _state(env, job_id)[0] == "cancelled"
    assert fetch(env, "SELECT outcome FROM job_attempts WHERE job_id = %s", (job_id,)) == [
        ("cancelled",)
    ]
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(0,)]


def test_foreman_run_until_idle_dispatches_everything_pending(make_env, inv):
    env = make_foreman_env(make_env, "foremanrun", executor={"kind": "null"})
    enqueue(env, "test_record", count=25)
    result = inv("foreman.run", "-e", env.name, "--until-idle")
    assert result.returncode == 0, result.stderr
    assert "stopped: dispatched 25," in result.stdout
    assert fetch(env, "SELECT state, count(*) FROM jobs GROUP BY state") == [("dispatched", 25)]


@pytest.mark.slow
def test_bench_runs_all_three_systems_at_a_tiny_size(make_env, inv):
    env = make_foreman_env(make_env, "bench")
    result = inv("bench.foreman", "-e", env.name, "--jobs", "60", "--batch-size", "20")
    assert result.returncode == 0, result.stderr
    rows = assert_table_shape(result.stdout, rows=2)
    assert [row[2].split()[0] for row in rows] == ["pgqueuer", "procrastinate"]
    assert all("(60 jobs," in row[1] and "(60 jobs," in row[3] for row in rows)
    as_json = inv("bench.foreman", "-e", env.name, "--jobs", "60", "--batch-size", "20", "--json")
    assert as_json.returncode == 0, as_json.stderr
    comparisons = assert_json_shape(as_json.stdout, rows=2)
    assert all(c["refinery_work"] == c["peer_work"] == 60 for c in comparisons)
    # The bench's databases are gone afterwards.
    names = fetch(env, "SELECT datname FROM pg_database WHERE datname LIKE 'bench_%%'")
    assert names == []
