"""Run worker handlers in tests exactly as the worker runtime does.

Handlers are called the way the worker runtime calls them: the job is queued, moved to
dispatched (what the foreman does) and started with `start_attempt`; the handler runs on the
job's connection and its writes commit together with `finish_attempt` — or roll back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from common.lake import open_lake
from foreman.jobs import JOB_KINDS, Job, enqueue_job, finish_attempt, get_job, start_attempt
from workers.registry import JobContext, find_handler

FIXTURES = Path(__file__).with_name("fixtures")


def dispatch(conn, job_id: int) -> Job:
    """Do what the foreman does to a pending job, then start its attempt as a worker would."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE jobs SET state = 'dispatched', attempt = attempt + 1, dispatched_at = now() "
            "WHERE id = %s AND state = 'pending'",
            (job_id,),
        )
    conn.commit()
    return start_attempt(conn, get_job(conn, job_id), "test-worker")


def context_for(env, conn, job: Job, scratch: Path) -> JobContext:
    scratch.mkdir(parents=True, exist_ok=True)
    log = logging.LoggerAdapter(logging.getLogger("tests.workers"), {"job_id": job.id})
    application = find_handler(job).application
    return JobContext(env, job, application, conn, open_lake(env), 1024, scratch, log)


def run_job(env, conn, job_id: int, scratch: Path) -> dict[str, Any]:
    """Run one queued job's handler like the runtime: commit with success, roll back on error."""
    job = dispatch(conn, job_id)
    ctx = context_for(env, conn, job, scratch / f"job-{job_id}-{job.attempt}")
    try:
        result = find_handler(job).run(ctx)
    except Exception as exc:
        conn.rollback()
        finish_attempt(conn, job, succeeded=False, reason=str(exc))
        with conn.cursor() as cur:  # back to pending, as the foreman's retry would
            cur.execute("UPDATE jobs SET state = 'pending' WHERE id = %s", (job_id,))
        conn.commit()
        raise
    assert finish_attempt(conn, job, succeeded=True, result=result)
    conn.commit()
    return result


def enqueue_and_run(env, conn, kind: str, payload: dict[str, Any], scratch: Path) -> dict:
    job_id, _ = enqueue_job(conn, kind, payload)
    conn.commit()
    return run_job(env, conn, job_id, scratch)


def run_all_pending(
    env, conn, scratch: Path, *, kinds: tuple[str, ...] = JOB_KINDS, limit: int = 200
) -> list[int]:
    """Run pending jobs of `kinds` in id order until none is left (new ones included)."""
    ran: list[int] = []
    while len(ran) < limit:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id FROM jobs WHERE state = 'pending' AND kind = ANY(%s) "
                "ORDER BY id LIMIT 1",
                (list(kinds),),
            )
            row = cur.fetchone()
        conn.commit()
        if row is None:
            return ran
        run_job(env, conn, row[0], scratch)
        ran.append(row[0])
    raise AssertionError(f"more than {limit} jobs: a job keeps creating work")


def count_rows(conn, *tables: str) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    conn.commit()
    return counts


CATALOG_TABLES = ("projects", "individuals", "samples", "aliquots", "experiments", "files", "jobs")
