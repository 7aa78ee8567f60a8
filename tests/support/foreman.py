"""Helpers for the foreman's tests: a fast-ticking environment, real foreman subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import db
from common.environments import REPO_ROOT, Environment
from tests.support.handlers import COMPLETIONS_TABLE_SQL

HANDLER_MODULES = "tests.support.handlers"

# Ticks short enough that a test sees retries and takeovers within seconds.
FAST_FOREMAN = {
    "poll_seconds": 0.3,
    "reconcile_seconds": 0.3,
    "heartbeat_seconds": 0.3,
    "takeover_seconds": 0.2,
    "worker_heartbeat_seconds": 0.5,
    "stale_after_seconds": 10,
    "submit_grace_seconds": 3,
    "retry_delay_seconds": 0.2,
}


def make_foreman_env(make_env, name: str, *, executor: dict[str, Any] | None = None,
                     **foreman: Any) -> Environment:  # fmt: skip
    """An environment with fast foreman ticks and the test completions table."""
    env = make_env(
        name,
        executor=executor
        or {"kind": "local", "concurrency": 2, "memory_tiers_mb": [1024, 1536, 2048]},
        foreman={**FAST_FOREMAN, **foreman},
    )
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(COMPLETIONS_TABLE_SQL)
    return env


def start_foreman(env: Environment, log_dir: Path, label: str = "foreman") -> subprocess.Popen:
    """`python -m foreman run -e ENV` as a real subprocess in its own session."""
    log = open(log_dir / f"{label}-{env.name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "foreman", "run", "-e", env.name],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "REFINERY_HANDLER_MODULES": HANDLER_MODULES},
        start_new_session=True,
    )


def wait_until(predicate: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll `predicate` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"within {timeout:.0f} s: {what}")


def fetch(env: Environment, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one statement in its own committed transaction; return its rows."""
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def enqueue(env: Environment, application: str, *, count: int = 1, **payload: Any) -> list[int]:
    from foreman.jobs import enqueue_job

    ids = []
    with db.transaction(env) as conn:
        for _ in range(count):
            job_id, _ = enqueue_job(conn, "process", {"application": application, **payload})
            ids.append(job_id)
    return ids
