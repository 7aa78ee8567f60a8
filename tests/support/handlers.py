"""Test-only job handlers, loaded through REFINERY_HANDLER_MODULES by the worker runtime.

They give the foreman tests jobs with known behaviour: slow ones that can be killed halfway,
ones that always fail (transiently, or for good on malformed input), and ones that record
each committed completion in `test_completions` (created by the tests) so "exactly once" can
be counted.
"""

from __future__ import annotations

import os
import time

from common.errors import ValidationError
from workers.registry import JobContext, handler

COMPLETIONS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS test_completions (
    job_id bigint NOT NULL,
    attempt integer NOT NULL,
    memory_mb integer NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now()
)
"""


def _record_completion(ctx: JobContext) -> None:
    with ctx.conn.cursor() as cur:
        cur.execute(
            "INSERT INTO test_completions (job_id, attempt, memory_mb) VALUES (%s, %s, %s)",
            (ctx.job.id, ctx.job.attempt, ctx.memory_mb),
        )


@handler("process", "test_sleep_then_record")
def sleep_then_record(ctx: JobContext) -> dict:
    """Record the completion first (uncommitted), then sleep: a kill mid-sleep loses it."""
    _record_completion(ctx)
    time.sleep(float(ctx.job.payload.get("seconds", 5)))
    return {"slept": ctx.job.payload.get("seconds", 5)}


@handler("process", "test_record")
def record(ctx: JobContext) -> dict:
    _record_completion(ctx)
    return {"recorded": True}


@handler("process", "test_malformed_input")
def malformed_input(ctx: JobContext) -> dict:
    _record_completion(ctx)
    raise ValidationError("the input is malformed on purpose")


@handler("process", "test_always_fail")
def always_fail(ctx: JobContext) -> dict:
    _record_completion(ctx)  # rolled back with the failure: the table must stay empty
    raise RuntimeError(f"failing on purpose with {ctx.memory_mb} MB")


@handler("process", "test_report_niceness")
def report_niceness(ctx: JobContext) -> dict:
    return {"niceness": os.nice(0)}
