"""What each console page shows, as plain data: the HTML and the JSON API render the same dict.

Every function takes a read-only connection and plain values and returns JSON-ready values;
an unknown id is a `NotFound`. Nothing here writes except through `foreman.job_admin`.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.environments import Environment
from common.errors import RefineryError, ValidationError
from common.sql import query
from foreman.job_admin import JOB_STATES
from foreman.jobs import JOB_KINDS

LOG_TAIL_LINES = 80
_SECRET_KEY = re.compile(r"pass|secret|token|credential|private|signature", re.IGNORECASE)
ANALYSIS_STATUSES = ("CREATED", "STARTED", "FINISHED", "SUCCEEDED", "FAILED")


class NotFound(RefineryError):
    """No such job, project, sample, experiment or analysis."""


def _rows(conn: Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(query(__file__, "pages.sql", name), params)
        return [dict(row) for row in cur.fetchall()]


def _one(conn: Connection, name: str, what: str, **params: Any) -> dict[str, Any]:
    rows = _rows(conn, name, **params)
    if not rows:
        raise NotFound(f"no {what} {params.get('id')}")
    return rows[0]


def masked(value: Any) -> Any:
    """`value` with anything under a secret-sounding key replaced (payloads, metadata)."""
    if isinstance(value, dict):
        return {
            key: "***" if _SECRET_KEY.search(str(key)) else masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _choice(value: str | None, allowed: tuple[str, ...] | None, what: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and allowed is not None and value not in allowed:
        raise ValidationError(f"unknown {what} {value!r} (one of {', '.join(allowed)})")
    return value


def jobs_page(
    conn: Connection,
    *,
    state: str | None = None,
    kind: str | None = None,
    queue: str | None = None,
    reason: str | None = None,
    limit: int = 200,
) -> dict:
    filters = {
        "state": _choice(state, JOB_STATES, "state"),
        "kind": _choice(kind, JOB_KINDS, "kind"),
        "queue": _choice(queue, None, "queue"),
        "reason": _choice(reason, None, "reason"),
    }
    jobs = _rows(conn, "jobs", limit=limit, **filters)
    choices: dict[str, list[str]] = {"state": list(JOB_STATES), "kind": list(JOB_KINDS)}
    for row in _rows(conn, "job_choices"):
        choices.setdefault(row["facet"], []).append(row["value"])
    return {"filters": filters, "choices": choices, "jobs": jobs}


def job_page(conn: Connection, env: Environment, job_id: int) -> dict:
    job = _one(conn, "job", "job", id=job_id)
    job["payload"] = masked(job["payload"])
    job["result"] = masked(job["result"])
    attempts = _rows(conn, "job_attempts", id=job_id)
    return {"job": job, "attempts": attempts, "log": _log_tail(env, job_id, job["attempt"])}


def _log_tail(env: Environment, job_id: int, attempt: int) -> dict[str, Any]:
    """The last lines of the job's latest log, where this machine can read it."""
    if env.executor.kind != "local" or attempt < 1:
        where = "CloudWatch Logs" if env.executor.kind == "batch" else "nowhere yet"
        return {"available": False, "lines": [],
                "hint": f"logs are in {where}: inv logs -e {env.name} --job {job_id}"}  # fmt: skip
    from foreman.executors.local import worker_log_path

    path = worker_log_path(env, job_id, attempt)
    try:
        with open(path, errors="replace") as handle:
            lines = list(deque(handle, maxlen=LOG_TAIL_LINES))
    except OSError:
        return {"available": False, "lines": [], "hint": f"no log for attempt {attempt}"}
    return {"available": True, "lines": [line.rstrip("\n") for line in lines], "hint": ""}


def catalog_page(conn: Connection) -> dict:
    return {"projects": _rows(conn, "projects")}


def project_page(
    conn: Connection, env: Environment, project_id: int, *, plots: bool = True
) -> dict:
    project = _one(conn, "project", "project", id=project_id)
    samples = _rows(conn, "project_samples", id=project_id)
    individuals: dict[int, dict[str, Any]] = {}
    for sample in samples:
        person = individuals.setdefault(
            sample["individual_id"],
            {"id": sample["individual_id"], "name": sample["individual"],
             "species": sample["species"], "samples": []},
        )  # fmt: skip
        person["samples"].append(
            {"id": sample["id"], "name": sample["name"], "tissue": sample["tissue"],
             "metadata": masked(sample["metadata"])}
        )  # fmt: skip
    return {
        "project": project,
        "individuals": list(individuals.values()),
        "quantifications": _quantifications(conn, project_id=project_id),
        "heatmaps": _heatmaps(conn, env, [project_id]) if plots else [],
    }


def sample_page(conn: Connection, env: Environment, sample_id: int, *, plots: bool = True) -> dict:
    sample = _one(conn, "sample", "sample", id=sample_id)
    sample["metadata"] = masked(sample["metadata"])
    experiments = _rows(conn, "sample_experiments", id=sample_id)
    for experiment in experiments:
        experiment["metadata"] = masked(experiment["metadata"])
    ids = [e["id"] for e in experiments]
    analyses = _rows(conn, "analyses_of_experiments", ids=ids) if ids else []
    return {
        "sample": sample,
        "experiments": experiments,
        "analyses": analyses,
        "quantifications": _quantifications(conn, ids) if ids else [],
        "qc_plots": _plots(env, ids) if plots else [],
    }


def experiment_page(
    conn: Connection, env: Environment, experiment_id: int, *, plots: bool = True
) -> dict:
    experiment = _one(conn, "experiment", "experiment", id=experiment_id)
    experiment["metadata"] = masked(experiment["metadata"])
    return {
        "experiment": experiment,
        "files": _rows(conn, "experiment_files", id=experiment_id),
        "analyses": _rows(conn, "analyses_of_experiments", ids=[experiment_id]),
        "quantifications": _quantifications(conn, [experiment_id]),
        "qc_plots": _plots(env, [experiment_id]) if plots else [],
        "heatmaps": _heatmaps(conn, env, [experiment["project_id"]]) if plots else [],
    }


def results_page(
    conn: Connection, *, status: str | None = None, application: str | None = None, limit: int = 200
) -> dict:
    filters = {
        "status": _choice(status, ANALYSIS_STATUSES, "status"),
        "application": _choice(application, None, "application"),
    }
    analyses = _rows(conn, "analyses", limit=limit, **filters)
    return {"filters": filters, "statuses": list(ANALYSIS_STATUSES), "analyses": analyses}


def analysis_page(
    conn: Connection, env: Environment, analysis_id: int, *, plots: bool = True
) -> dict:
    analysis = _one(conn, "analysis", "analysis", id=analysis_id)
    analysis["metadata"] = masked(analysis["metadata"])
    analysis["sealed"] = analysis["status"] == "SUCCEEDED"
    targets = _rows(conn, "analysis_targets", id=analysis_id)
    return {
        "analysis": analysis,
        "targets": targets,
        "files": _rows(conn, "analysis_files", id=analysis_id),
        "qc_plots": _plots(env, [t["id"] for t in targets]) if plots else [],
    }


def _plots(env: Environment, experiment_ids: list[int]) -> list[dict[str, str]]:
    if not experiment_ids:
        return []
    from ops.local.qc_report import qc_plots

    return qc_plots(env, set(experiment_ids))


def _quantifications(
    conn: Connection, experiment_ids: list[int] | None = None, *, project_id: int | None = None
) -> list[dict[str, Any]]:
    """The RNA-seq rows (mapping rate, library type) of these experiments or this project."""
    from ops.analyses.rnaseq_view import quantification_rows

    rows = quantification_rows(conn, experiment_ids)
    return [row for row in rows if project_id is None or row["project_id"] == project_id]


def _heatmaps(conn: Connection, env: Environment, project_ids: list[int]) -> list[dict[str, Any]]:
    from common.lake import open_lake
    from ops.analyses.rnaseq_view import correlation_heatmaps

    return correlation_heatmaps(conn, open_lake(env), project_ids)


def token_user(conn: Connection, digest: str) -> dict[str, str] | None:
    rows = _rows(conn, "token_user", digest=digest)
    return rows[0] if rows else None
