"""RNA-seq on demand: force a project's gene-level summary; re-quantify outdated samples.

`force_summary` queues a `summarise` job for a project (refine.bio's "experiment": a study
with its samples) now, even while samples are still being quantified. `requant_plan` lists
the samples whose newest salmon result came from an older index or salmon version than their
organism's newest index, and with `execute` queues their quantification against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extras import RealDictCursor

from common import catalog
from common.db import transaction
from common.environments import Environment
from common.errors import ValidationError
from common.inputs import MAX_ID_LENGTH, check_text
from foreman.jobs import enqueue_job
from workers.processors.quantify import queue_quantification, rnaseq_query, summary_job_spec

_sql = rnaseq_query


def force_summary(env: Environment, experiment: str) -> tuple[int, int]:
    """Queue the summary of the project with accession `experiment`: (job id, project id)."""
    accession = check_text(experiment, "--experiment", max_length=MAX_ID_LENGTH).strip()
    if not accession:
        raise ValidationError("name the experiment (project accession): --experiment ID")
    with transaction(env) as conn, conn.cursor() as cur:
        cur.execute(_sql("project_by_accession"), {"accession": accession})
        rows = cur.fetchall()
        if not rows:
            raise ValidationError(f"no experiment (project) {accession!r} in the catalog")
        if len(rows) > 1:
            raise ValidationError(f"{accession!r} names {len(rows)} projects of different sources")
        project_id = int(rows[0][0])
        spec = summary_job_spec(
            project_id,
            env.bot_user,
            f"process:summarise:project:{project_id}:forced:{time.time_ns()}",
        )
        spec["payload"]["force"] = True
        job_id, _ = enqueue_job(conn, spec["kind"], spec["payload"], dedupe_key=spec["dedupe_key"])
    return job_id, project_id


@dataclass
class RequantPlan:
    executed: bool
    samples: list[dict[str, Any]] = field(default_factory=list)
    queued: dict[int, int] = field(default_factory=dict)  # experiment id -> job id


def requant_plan(env: Environment, organism: str | None, *, execute: bool) -> RequantPlan:
    """Samples quantified with an older index or salmon version (queued when `execute`)."""
    if organism is not None:
        organism = check_text(organism, "--organism", max_length=MAX_ID_LENGTH).strip() or None
    plan = RequantPlan(executed=execute)
    with transaction(env) as conn:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute(_sql("outdated_quantifications"), {"organism": organism})
            plan.samples = [dict(row) for row in cur.fetchall()]
        if not execute:
            conn.rollback()
            return plan
        for sample in plan.samples:
            experiment = catalog.get_experiment(conn, sample["experiment_id"])
            index = {"id": sample["newest_index_id"], "state": "ready", "job_id": None}
            job_id = queue_quantification(conn, experiment, env.bot_user, parent_job_id=None,
                                          index=index)  # fmt: skip
            if job_id is not None:
                plan.queued[sample["experiment_id"]] = job_id
    return plan
