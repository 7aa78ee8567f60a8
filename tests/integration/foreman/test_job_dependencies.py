"""A job that depends on another waits without being dispatched or spending an attempt; it
becomes pending when its dependency succeeds, and fails for good with the dependency's reason
(queueing its `on_failure` job) when the dependency fails or is cancelled; a job that needs
only its dependency's end becomes pending whatever that end was."""

from __future__ import annotations

import pytest

from foreman.dispatch import dispatch_pending_jobs, settle_errored_jobs, settle_waiting_jobs
from foreman.executors.null import NullExecutor
from foreman.jobs import enqueue_job

pytestmark = pytest.mark.integration


def _job(conn, job_id):
    with conn.cursor() as cur:
        cur.execute("SELECT state, attempt, failure_reason FROM jobs WHERE id = %s", (job_id,))
        row = cur.fetchone()
    conn.commit()
    return row


def _set(conn, job_id, state, reason=None):
    with conn.cursor() as cur:
        cur.execute("UPDATE jobs SET state = %s, failure_reason = %s WHERE id = %s",
                    (state, reason, job_id))  # fmt: skip
    conn.commit()


def test_a_dependent_job_waits_unclaimed_until_its_dependency_succeeds(env, conn):
    first, _ = enqueue_job(conn, "index", {"index_id": 1})
    second, _ = enqueue_job(conn, "process", {"application": "salmon"}, depends_on=first)
    conn.commit()
    assert _job(conn, second) == ("waiting", 0, None)
    dispatch_pending_jobs(conn, env, NullExecutor(env))
    assert _job(conn, first)[:2] == ("dispatched", 1)
    assert _job(conn, second) == ("waiting", 0, None)  # never claimed, no attempt spent
    assert settle_waiting_jobs(conn, env) == (0, 0)
    _set(conn, first, "succeeded")
    assert settle_waiting_jobs(conn, env) == (1, 0)
    assert _job(conn, second) == ("pending", 0, None)
    # a job created after its dependency succeeded does not wait at all
    third, _ = enqueue_job(conn, "process", {"application": "salmon"}, depends_on=first)
    conn.commit()
    assert _job(conn, third)[0] == "pending"


def test_a_dependent_job_fails_with_its_dependencys_reason_and_queues_its_follow_up(env, conn):
    first, _ = enqueue_job(conn, "index", {"index_id": 1})
    follow_up = {"kind": "process", "payload": {"application": "summarise"},
                 "dedupe_key": "after-second"}  # fmt: skip
    second, _ = enqueue_job(conn, "process", {"application": "salmon", "on_failure": follow_up},
                            depends_on=first)  # fmt: skip
    conn.commit()
    _set(conn, first, "errored", "the genome FASTA is truncated")
    with conn.cursor() as cur:
        cur.execute("UPDATE jobs SET permanent = true WHERE id = %s", (first,))
    conn.commit()
    assert settle_errored_jobs(conn, env) == (0, 1)
    assert settle_waiting_jobs(conn, env) == (0, 1)
    state, attempt, reason = _job(conn, second)
    assert (state, attempt) == ("failed", 0)
    assert reason == (
        f"its dependency, index job {first}, failed: not retried, it cannot succeed: "
        "the genome FASTA is truncated"
    )
    with conn.cursor() as cur:
        cur.execute("SELECT parent_job_id, payload FROM jobs WHERE dedupe_key = 'after-second'")
        assert cur.fetchall() == [(second, {"application": "summarise"})]
    conn.commit()


@pytest.mark.parametrize("end", ["succeeded", "failed", "cancelled"])
def test_a_job_that_needs_only_its_dependencys_end_runs_after_any_end(env, conn, end):
    first, _ = enqueue_job(conn, "process", {"application": "salmon"})
    second, _ = enqueue_job(conn, "process", {"application": "fastq_qc"}, depends_on=first,
                            needs_success=False)  # fmt: skip
    conn.commit()
    assert _job(conn, second) == ("waiting", 0, None)
    dispatch_pending_jobs(conn, env, NullExecutor(env))
    assert _job(conn, second) == ("waiting", 0, None)  # not beside its dependency
    assert settle_waiting_jobs(conn, env) == (0, 0)
    _set(conn, first, end, None if end == "succeeded" else "mapping rate 2% < 30%")
    assert settle_waiting_jobs(conn, env) == (1, 0)
    assert _job(conn, second) == ("pending", 0, None)  # never failed with the dependency's reason
    # queued after its dependency ended, it does not wait at all
    third, _ = enqueue_job(conn, "process", {"application": "no_op"}, depends_on=first,
                           needs_success=False)  # fmt: skip
    conn.commit()
    assert _job(conn, third)[0] == "pending"


def test_a_job_that_needs_its_dependencys_success_still_fails_beside_one_that_does_not(env, conn):
    first, _ = enqueue_job(conn, "index", {"index_id": 1})
    strict, _ = enqueue_job(conn, "process", {"application": "salmon"}, depends_on=first)
    lenient, _ = enqueue_job(conn, "process", {"application": "fastq_qc"}, depends_on=first,
                             needs_success=False)  # fmt: skip
    conn.commit()
    _set(conn, first, "cancelled", "cancelled by an operator")
    assert settle_waiting_jobs(conn, env) == (1, 1)
    assert _job(conn, strict)[0] == "failed"
    assert _job(conn, lenient)[0] == "pending"
