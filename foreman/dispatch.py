"""One round of the foreman's work, as set-based SQL: claim, submit, reconcile, settle.

Each function takes a connection and commits what it did, so the dispatch loop (`foreman.loop`)
only decides *when* to call them. Every write names the attempt it is about, so a worker that
finishes at the same moment as the foreman gives up on it cannot be overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, execute_values

from common.applications import Application, applications
from common.environments import Environment
from common.errors import first_line
from common.failpoints import failpoint
from common.settings.jobs import ForemanSettings
from common.sql import query
from common.worker_identity import memory_mb_for_tier, worker_command
from foreman.executors.base import Executor, ExecutorUnavailable, Submission, SubmissionGroup
from foreman.routing import UNROUTED_QUEUE, QueueRouting

log = logging.getLogger(__name__)


def _sql(name: str) -> str:
    return query(__file__, "dispatch.sql", name)


def memory_mb_for(env: Environment, application: Application | None, memory_tier: int) -> int:
    """The memory (MB) an attempt gets: its tier's, or more when its application needs more
    (`memory_mb` in its manifest, common.applications)."""
    needed = application.memory_mb if application is not None else 0
    return max(memory_mb_for_tier(env, memory_tier), needed)


def free_capacity(conn: Connection, executor: Executor, queues: list[str]) -> dict[str, int]:
    """How many more attempts each queue may start now."""
    limits = {queue: executor.capacity(queue) for queue in queues}
    if all(limit >= 1_000_000_000 for limit in limits.values()):
        return limits  # unlimited: skip counting
    with conn.cursor() as cur:
        cur.execute(_sql("active_by_queue"))
        active = dict(cur.fetchall())
    return {queue: max(0, limit - active.get(queue, 0)) for queue, limit in limits.items()}


def dispatch_pending_jobs(
    conn: Connection,
    env: Environment,
    executor: Executor,
    *,
    batch_size: int = 500,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Claim pending jobs within each queue's free capacity and submit them; returns how many.

    `should_stop` is asked between batches, so a stop request never waits for a long queue.
    New jobs are first routed to their queue (foreman.routing). When the executor is
    unavailable (throttled), the claimed jobs go back to pending unspent and this round stops.
    """
    # An executor that starts many attempts per call (Batch arrays) is handed that many at once.
    batch_size = max(batch_size, executor.max_group_size)
    routing = QueueRouting.for_environment(env)
    route_new_jobs(conn, env, routing)
    with conn.cursor() as cur:
        cur.execute(_sql("pending_queues"))
        queues = [row[0] for row in cur.fetchall()]
    conn.commit()
    if routing.enabled:
        # A job a worker enqueued after the routing above is still on the unrouted queue: it
        # waits for the next pass, instead of going to a queue the environment may not have.
        queues = [queue for queue in queues if queue in routing.queues]
    if not queues:
        return 0
    dispatched = 0
    for queue, free in free_capacity(conn, executor, queues).items():
        while free > 0 and not should_stop():
            wanted = min(free, batch_size)
            claimed, handled = _claim_and_submit(conn, env, executor, queue, wanted)
            dispatched += handled
            free -= claimed
            if handled < claimed:
                conn.commit()
                return dispatched  # the executor is throttling: try again next round
            if claimed < wanted:
                break  # the queue ran dry (or another claimer holds the rest)
    conn.commit()
    return dispatched


def route_new_jobs(conn: Connection, env: Environment, routing: QueueRouting) -> int:
    """Move new jobs from the unrouted queue to their kind's and tier's queue (commits)."""
    if not routing.enabled:
        return 0
    with conn.cursor() as cur:
        cur.execute(_sql("route_new_jobs"), _routing_params(env, routing))
        routed = cur.rowcount
    conn.commit()
    return routed


def _routing_params(env: Environment, routing: QueueRouting) -> dict[str, object]:
    return {
        "routes": Json(routing.as_rows() if routing.enabled else []),
        "unrouted": UNROUTED_QUEUE,
        "max_tier": max(len(env.executor.memory_tiers_mb) - 1, 0),
    }


def _claim_and_submit(
    conn: Connection, env: Environment, executor: Executor, queue: str, limit: int
) -> tuple[int, int]:
    """Claim up to `limit` jobs and submit them: (claimed, submitted or refused).

    Fewer handled than claimed means the executor became unavailable: the rest were released.
    """
    with conn.cursor() as cur:
        cur.execute(
            _sql("claim_pending"), {"queue": queue, "limit": limit, "executor": executor.name}
        )
        rows = cur.fetchall()
    if not rows:
        conn.commit()
        return 0, 0
    try:
        # Everything the foreman itself decides about a submission is settled before the claim
        # commits: if it cannot be (a setting, a bug), the claim rolls back and the jobs stay
        # pending with their attempts unspent, instead of waiting in `dispatched` to be lost.
        declared = applications()
        submissions = [
            Submission(
                job_id=job_id,
                attempt=attempt,
                kind=kind,
                queue=job_queue,
                memory_mb=memory_mb_for(env, declared.get((kind, handler)), memory_tier),
                environment=env.name,
                command=worker_command(job_id),
                handler=handler,
            )
            for job_id, kind, job_queue, attempt, memory_tier, handler in rows
        ]
        groups, refused_now = executor.group(submissions)
        executor.record_groups(conn, groups)  # with the claim: one transaction
    except BaseException:
        conn.rollback()
        raise
    # The claim commits before anything starts, so a worker always finds its attempt dispatched
    # (and, for a recorded submission, its place in the group).
    conn.commit()
    failpoint("foreman.dispatch.claimed")
    refused = [
        (s.job_id, s.attempt, f"executor {executor.name} refused the job: {_reason_line(reason)}")
        for s, reason in refused_now
    ]
    released: list[SubmissionGroup] = []
    for group in groups:
        members = [(s.job_id, s.attempt) for s in group.submissions]
        if released:
            released.append(group)
            continue
        try:
            executor.submit_group(conn, group)
        except ExecutorUnavailable as exc:
            log.warning(
                "executor %s unavailable (%s); %d jobs and the rest of the batch wait",
                executor.name,
                first_line(exc),
                len(members),
                extra={"job_id": members[0][0], "env": env.name, "queue": queue},
            )
            released.append(group)
            continue
        except Exception as exc:  # an executor error must not strand the rest of the batch
            reason = f"executor {executor.name} refused the job: {first_line(exc)}"
            log.warning(reason, extra={"job_id": members[0][0], "env": env.name, "queue": queue})
            refused.extend((job_id, attempt, reason) for job_id, attempt in members)
            continue
    executor.withdraw_groups(conn, released[1:])  # the first withdrew itself as it failed
    conn.commit()
    if refused:
        mark_lost(conn, refused)
    if released:
        release_claims(conn, [(s.job_id, s.attempt) for g in released for s in g.submissions])
    unreleased = len(rows) - sum(len(group.submissions) for group in released)
    return len(rows), unreleased


def release_claims(conn: Connection, released: list[tuple[int, int]]) -> int:
    """Put claimed but unsubmitted (job id, attempt)s back to pending, attempt unspent."""
    with conn.cursor() as cur:
        back = execute_values(cur, _sql("release_claims"), released, fetch=True)
    conn.commit()
    return len(back)


def mark_lost(conn: Connection, lost: list[tuple[int, int, str]]) -> int:
    """Mark (job id, attempt, reason) attempts errored unless they finished meanwhile."""
    if not lost:
        return 0
    with conn.cursor() as cur:
        changed = execute_values(cur, _sql("mark_lost"), lost, fetch=True)
        if changed:
            execute_values(cur, _sql("record_lost_attempts"), changed)
    conn.commit()
    for job_id, attempt, _, reason in changed:
        log.warning("job %s attempt %s lost: %s", job_id, attempt, reason, extra={"job_id": job_id})
    return len(changed)


@dataclass(frozen=True)
class ReconcileReport:
    """What one look at the running jobs found."""

    active: int
    lost: int


def reconcile_active_jobs(
    conn: Connection, executor: Executor, *, stale_after: float, submit_grace: float
) -> ReconcileReport:
    """Find attempts whose worker is gone or silent, and mark them errored (to be retried).

    Submissions a dead foreman left unanswered are settled first (foreman.submissions)."""
    executor.recover_submissions(conn, grace=submit_grace)
    with conn.cursor() as cur:
        cur.execute(_sql("active_jobs"), {"stale": stale_after, "grace": submit_grace})
        rows = cur.fetchall()
    conn.commit()
    lost: list[tuple[int, int, str]] = []
    to_describe: dict[str, tuple[int, int]] = {}
    for job_id, attempt, _state, job_executor, executor_job_id, stale, unsubmitted in rows:
        if stale:
            lost.append((job_id, attempt, f"no heartbeat from the worker for {stale_after:g} s"))
            if executor_job_id and job_executor == executor.name:
                executor.terminate(executor_job_id, "heartbeat stale")
        elif unsubmitted:
            lost.append((job_id, attempt, "dispatched but never submitted to an executor"))
        elif executor_job_id and job_executor == executor.name:
            to_describe[executor_job_id] = (job_id, attempt)
    for executor_job_id, status in executor.describe_all(list(to_describe)).items():
        if status.state in ("queued", "running") or executor_job_id not in to_describe:
            continue
        job_id, attempt = to_describe[executor_job_id]
        if status.state == "succeeded":
            reason = "worker exited without finishing the attempt"
        else:
            reason = status.reason or f"executor reports the worker {status.state}"
        lost.append((job_id, attempt, reason))
    return ReconcileReport(active=len(rows), lost=mark_lost(conn, lost))


def settle_errored_jobs(
    conn: Connection, env: Environment, settings: ForemanSettings | None = None
) -> tuple[int, int]:
    """Errored jobs go back to pending one memory tier up once their retry delay has passed
    (see ForemanSettings), or fail at once after their last attempt."""
    settings = settings or ForemanSettings.for_environment(env)
    params = _routing_params(env, QueueRouting.for_environment(env))
    with conn.cursor() as cur:
        cur.execute(_sql("retry_errored"), {
            **params,
            "delay": settings.retry_delay_seconds,
            "max_delay": settings.retry_delay_max_seconds,
        })  # fmt: skip
        retried = cur.rowcount
        cur.execute(_sql("fail_exhausted"))
        failed = cur.fetchall()
    conn.commit()
    _log_failures(failed, env)
    return retried, len(failed)


def settle_waiting_jobs(conn: Connection, env: Environment) -> tuple[int, int]:
    """Waiting jobs whose dependency succeeded become pending; those whose dependency failed
    or was cancelled fail for good with its reason. Returns (released, failed); commits."""
    with conn.cursor() as cur:
        cur.execute(_sql("release_waiting"))
        released = cur.rowcount
        cur.execute(_sql("fail_waiting"))
        failed = cur.fetchall()
    conn.commit()
    _log_failures(failed, env)
    return released, len(failed)


def _log_failures(failed: list[tuple[int, str]], env: Environment) -> None:
    for job_id, reason in failed:
        log.warning("job %s failed: %s", job_id, reason, extra={"job_id": job_id, "env": env.name})


def _reason_line(reason: str) -> str:
    """The first line of an executor's refusal (it may quote a multi-line error)."""
    lines = reason.strip().splitlines()
    return lines[0] if lines else "no reason given"
