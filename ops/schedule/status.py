"""The record every scheduled run leaves: one JSON line per run in the environment's state
folder, read back by `inv schedule.status`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.environments import Environment

STATUS_FILE = "schedule-runs.jsonl"


def status_path(env: Environment) -> Path:
    return env.state_dir / STATUS_FILE


def record_run(env: Environment, job: str, run: Callable[[], str]) -> dict[str, Any]:
    """Run `run` (which returns a one-line summary) and append its outcome; re-raise errors."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    record: dict[str, Any] = {
        "job": job,
        "environment": env.name,
        "started_at": started.isoformat(),
    }
    try:
        record["detail"] = run()
        record["ok"] = True
    except BaseException as exc:
        record["ok"] = False
        record["detail"] = str(exc) or type(exc).__name__
        raise
    finally:
        record["seconds"] = round(time.monotonic() - clock, 3)
        with open(status_path(env), "a") as handle:
            handle.write(json.dumps(record) + "\n")
    return record


def recent_runs(env: Environment, limit: int = 20) -> list[dict[str, Any]]:
    path = status_path(env)
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines()[-limit:]:
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue
    return runs


def job_summaries(
    env: Environment, expressions: dict[str, str], jobs: list[str]
) -> list[dict[str, Any]]:
    """Per job: its schedule, its last run and outcome, and the age of its last success —
    the figure that says whether a timer silently stopped doing its work."""
    now = datetime.now(UTC)
    last: dict[str, dict[str, Any]] = {}
    last_ok: dict[str, dict[str, Any]] = {}
    for run in recent_runs(env, limit=100_000):
        job = str(run.get("job"))
        last[job] = run
        if run.get("ok"):
            last_ok[job] = run
    summaries = []
    for job in jobs:
        success = last_ok.get(job)
        age = None
        if success is not None:
            started = datetime.fromisoformat(str(success["started_at"]))
            age = round((now - started).total_seconds())
        summaries.append(
            {
                "job": job,
                "schedule": expressions.get(job),
                "last_run_at": last.get(job, {}).get("started_at"),
                "last_ok": last.get(job, {}).get("ok"),
                "last_detail": last.get(job, {}).get("detail"),
                "last_success_at": success["started_at"] if success else None,
                "last_success_age_seconds": age,
            }
        )
    return summaries
