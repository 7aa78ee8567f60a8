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
