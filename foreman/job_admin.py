"""What people do to jobs by hand: look at them, retry the failed, cancel the unwanted.

Each function takes a connection and plain values and returns a result for a task to render;
bad input (an unknown job, a job in the wrong state) is a one-line JobError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.errors import JobError, ValidationError
from common.sql import query
from foreman.executors.base import Executor
from foreman.jobs import JOB_KINDS, get_job

JOB_STATES = (
    "waiting",
    "pending",
    "dispatched",
    "running",
    "succeeded",
    "errored",
    "failed",
    "cancelled",
)
RUNNING_STATES = ("dispatched", "running")


def _sql(name: str) -> str:
    return query(__file__, "job_admin.sql", name)


@dataclass
class Failure:
    """A job that gave up, and why."""

    id: int
    kind: str
    queue: str
    attempt: int
    ended_at: datetime | None
    reason: str | None


@dataclass
class ForemanBeat:
    """A running foreman as its heartbeat row shows it."""

    foreman_id: str
    role: str
    seconds_since_beat: float
    dispatched_total: int
    # Per executor API (Batch): rate, calls and throttles in the last minute and in total.
    api_usage: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class JobStatusReport:
    """Job counts by kind and state, the most recent failures, and the foremen's heartbeats."""

    counts: list[tuple[str, str, int]] = field(default_factory=list)
    recent_failures: list[Failure] = field(default_factory=list)
    foremen: list[ForemanBeat] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": [{"kind": k, "state": s, "jobs": n} for k, s, n in self.counts],
            "recent_failures": [failure.__dict__ for failure in self.recent_failures],
            "foremen": [beat.__dict__ for beat in self.foremen],
        }


def job_status(
    conn: Connection, *, state: str | None = None, kind: str | None = None, failures: int = 10
) -> JobStatusReport:
    """Counts of jobs by (kind, state), optionally filtered, and the latest failures."""
    if state is not None and state not in JOB_STATES:
        raise ValidationError(f"unknown job state {state!r} (one of {', '.join(JOB_STATES)})")
    if kind is not None and kind not in JOB_KINDS:
        raise ValidationError(f"unknown job kind {kind!r} (one of {', '.join(JOB_KINDS)})")
    report = JobStatusReport()
    with conn.cursor() as cur:
        cur.execute(_sql("counts"), {"state": state, "kind": kind})
        report.counts = [(k, s, int(n)) for k, s, n in cur.fetchall()]
    if state in (None, "failed"):
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute(_sql("recent_failures"), {"kind": kind, "limit": failures})
            report.recent_failures = [
                Failure(
                    id=row["id"],
                    kind=row["kind"],
                    queue=row["queue"],
                    attempt=row["attempt"],
                    ended_at=row["ended_at"],
                    reason=row["failure_reason"],
                )
                for row in cur.fetchall()
            ]
    with conn.cursor() as cur:
        cur.execute(_sql("foremen"))
        report.foremen = [ForemanBeat(*row) for row in cur.fetchall()]
    conn.commit()
    return report


def retry_jobs(
    conn: Connection, *, job_id: int | None = None, all_failed: bool = False, attempts: int = 3
) -> list[int]:
    """Put a failed or cancelled job (or every failed job) back to pending with `attempts` more
    attempts, and wake the foreman. Returns the ids retried."""
    if (job_id is None) == (not all_failed):
        raise ValidationError("give a JOB_ID or --all-failed, not both")
    if attempts < 1:
        raise ValidationError("--attempts must be at least 1")
    with conn.cursor() as cur:
        if job_id is not None:
            job = get_job(conn, job_id)
            cur.execute(_sql("retry_one"), {"job_id": job_id, "attempts": attempts})
            if cur.rowcount == 0:
                conn.rollback()
                raise JobError(
                    f"job {job_id} is {job.state}; only failed or cancelled jobs can be retried"
                )
        else:
            cur.execute(_sql("retry_all_failed"), {"attempts": attempts})
        retried = [row[0] for row in cur.fetchall()]
        if retried:
            cur.execute(_sql("notify"))
    conn.commit()
    return retried


@dataclass(frozen=True)
class CancelOutcome:
    """What cancelling one job did."""

    job_id: int
    previous_state: str
    terminated: str | None


def cancel_job(
    conn: Connection, job_id: int, executor_for_job: Callable[[], Executor]
) -> CancelOutcome:
    """Cancel a job; a running attempt is marked cancelled first, then its worker terminated
    (so the worker cannot report it errored and have it retried)."""
    job = get_job(conn, job_id)
    if job.state in ("succeeded", "failed", "cancelled"):
        conn.rollback()
        raise JobError(f"job {job_id} is already {job.state}; nothing to cancel")
    reason = "cancelled by hand"
    params = {"job_id": job_id, "attempt": job.attempt, "reason": reason}
    with conn.cursor() as cur:
        cur.execute(_sql("cancel"), params)
        if cur.rowcount == 0:
            conn.rollback()
            raise JobError(f"job {job_id} changed state while cancelling; look again and retry")
        cur.execute(_sql("record_cancelled_attempt"), params)
    conn.commit()
    terminated = None
    if job.state in RUNNING_STATES and job.executor_job_id:
        executor = executor_for_job()
        try:
            executor.terminate(job.executor_job_id, reason)
        finally:
            executor.close()
        terminated = job.executor_job_id
    return CancelOutcome(job_id, job.state, terminated)


@dataclass(frozen=True)
class ArrayCancellation:
    """What cancelling a whole array did, or would do (`executed` False: a dry run)."""

    token: str
    executor_job_id: str | None
    size: int
    job_ids: list[int]
    executed: bool

    @property
    def terminated(self) -> str | None:
        """The Batch job ended with one TerminateJob (its children with it on AWS)."""
        return self.executor_job_id if self.executed else None


def cancel_array(
    conn: Connection,
    job_id: int,
    executor_for_job: Callable[[], Executor],
    *,
    execute: bool,
) -> ArrayCancellation:
    """Cancel the array job that carries `job_id`'s current attempt: every member still on
    its attempt is cancelled in one transaction, then one TerminateJob on the array's parent
    ends every child on AWS Batch (a child's own id ends that child alone: `cancel_job`).

    Members marked cancelled first cannot be reported errored and retried by their workers;
    members that already ended, or moved on to a later attempt elsewhere, are left alone.
    """
    get_job(conn, job_id)  # a one-line error for a job that does not exist
    with conn.cursor() as cur:
        cur.execute(_sql("array_of_job"), {"job_id": job_id})
        found = cur.fetchone()
        if found is None:
            conn.rollback()
            raise JobError(
                f"job {job_id}'s current attempt is not part of an array job; "
                f"cancel it alone: inv jobs.cancel JOB_ID"
            )
        token, executor_job_id, size = found
        statement = "cancel_array" if execute else "array_active_members"
        cur.execute(_sql(statement), {"token": token, "reason": "array cancelled by hand"})
        cancelled = [row[0] for row in cur.fetchall()]
    if not cancelled or not execute:
        conn.rollback()
        if not cancelled:
            raise JobError(f"no job of array {executor_job_id or token} is still running")
        return ArrayCancellation(token, executor_job_id, size, cancelled, executed=False)
    conn.commit()
    if executor_job_id:
        executor = executor_for_job()
        try:
            executor.terminate(executor_job_id, "array cancelled by hand")
        finally:
            executor.close()
    return ArrayCancellation(token, executor_job_id, size, cancelled, executed=True)
