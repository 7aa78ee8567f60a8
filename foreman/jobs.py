"""Jobs as the workers and the tasks see them: create, load, and move one attempt along.

The foreman owns dispatch and retries (`foreman.dispatch`); this module owns the transitions a
worker makes for its own attempt. Every transition names the attempt it belongs to, so a worker
that was given up on (its attempt re-dispatched) can no longer change the job.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, RealDictCursor

from common.db import fetch_one
from common.errors import JobError
from common.inputs import MAX_BIGINT
from common.sql import query

JOB_KINDS = ("survey", "download", "process", "index", "dataset")
ACTIVE_STATES = ("waiting", "pending", "dispatched", "running", "errored")
FINAL_STATES = ("succeeded", "failed", "cancelled")
# Job ids are bigserial; a larger number cannot name a job (and PostgreSQL would refuse it).
MAX_JOB_ID = MAX_BIGINT


def _sql(name: str) -> str:
    return query(__file__, "jobs.sql", name)


@dataclass(frozen=True)
class Job:
    """One row of the jobs table."""

    id: int
    kind: str
    queue: str
    state: str
    payload: dict[str, Any]
    dedupe_key: str | None
    attempt: int
    max_attempts: int
    memory_tier: int
    executor: str | None
    executor_job_id: str | None
    worker_id: str | None
    heartbeat_at: datetime | None
    created_at: datetime
    dispatched_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    failure_reason: str | None
    parent_job_id: int | None
    result: dict[str, Any] | None
    depends_on: int | None = None
    needs_success: bool = True
    # The name of its handler (an application's name), decided when the job was queued.
    handler: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in row.items() if key in names})


def enqueue_job(
    conn: Connection,
    kind: str,
    payload: dict[str, Any],
    *,
    queue: str = "default",
    parent_job_id: int | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 3,
    memory_tier: int = 0,
    depends_on: int | None = None,
    needs_success: bool = True,
) -> tuple[int, bool]:
    """Create a pending job; with a `dedupe_key` already used, return the existing job.

    A job that `depends_on` another is created `waiting` (unless that one has succeeded
    already): the foreman never dispatches it, and makes it pending once its dependency
    succeeded, or fails it with the dependency's reason (`foreman.dispatch.settle_waiting_jobs`).
    With `needs_success=False` it waits only for the dependency's end: it becomes pending once
    that one succeeded, failed for good or was cancelled. Returns (job id, whether it was
    created now). The caller commits.
    """
    if kind not in JOB_KINDS:
        raise JobError(f"unknown job kind {kind!r} (one of {', '.join(JOB_KINDS)})")
    with conn.cursor() as cur:
        cur.execute(
            _sql("insert_job"),
            {
                "kind": kind,
                "queue": queue,
                "payload": Json(payload),
                "parent_job_id": parent_job_id,
                "dedupe_key": dedupe_key,
                "max_attempts": max_attempts,
                "memory_tier": memory_tier,
                "depends_on": depends_on,
                "needs_success": needs_success,
            },
        )
        job_id, inserted = fetch_one(cur)
    return job_id, inserted


def get_job(conn: Connection, job_id: int) -> Job:
    """The job `job_id`, or a JobError naming it."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_job"), {"job_id": job_id})
        row = cur.fetchone()
    if row is None:
        raise JobError(f"job {job_id} does not exist")
    return Job.from_row(row)


def start_attempt(
    conn: Connection, job: Job, worker_id: str, *, executor_job_id: str | None = None
) -> Job:
    """Mark the job's current attempt running on `worker_id` (commits). `executor_job_id` is
    the executor's id of the job the worker runs as, when its environment says (AWS Batch)."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            _sql("start_attempt"),
            {"job_id": job.id, "attempt": job.attempt, "worker_id": worker_id},
        )
        row = cur.fetchone()
        if row is None:
            conn.rollback()
            raise JobError(
                f"job {job.id} attempt {job.attempt} is {job.state}, not dispatched; not running it"
            )
        cur.execute(
            _sql("record_attempt_start"),
            {
                "job_id": job.id,
                "attempt": job.attempt,
                "memory_tier": job.memory_tier,
                "executor_job_id": job.executor_job_id,
                "worker_id": worker_id,
                "worker_executor_job_id": executor_job_id,
            },
        )
    conn.commit()
    return Job.from_row(row)


def beat(conn: Connection, job: Job) -> bool:
    """Refresh the attempt's heartbeat; False when the attempt is no longer running."""
    with conn.cursor() as cur:
        cur.execute(_sql("beat"), {"job_id": job.id, "attempt": job.attempt})
        alive = cur.fetchone() is not None
    conn.commit()
    return alive


def finish_attempt(
    conn: Connection,
    job: Job,
    *,
    succeeded: bool,
    result: dict[str, Any] | None = None,
    reason: str | None = None,
    permanent: bool = False,
) -> bool:
    """Record the end of the job's current attempt in the caller's transaction.

    A `permanent` failure is one no retry can fix (malformed input, no handler): the foreman
    fails the job at once instead of retrying it. Returns False (changing nothing) when the
    attempt was already ended by someone else — the caller must then roll back whatever else
    it did in this transaction.
    """
    state = "succeeded" if succeeded else "errored"
    with conn.cursor() as cur:
        cur.execute(
            _sql("finish_attempt"),
            {
                "job_id": job.id,
                "attempt": job.attempt,
                "state": state,
                "result": Json(result) if result is not None else None,
                "reason": reason,
                "permanent": permanent and not succeeded,
            },
        )
        if cur.fetchone() is None:
            return False
        cur.execute(
            _sql("record_attempt_end"),
            {"job_id": job.id, "attempt": job.attempt, "outcome": state, "reason": reason},
        )
    return True
