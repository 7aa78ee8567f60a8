from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT


@pytest.fixture
def inv():
    """Run `inv ARGS…` from the repository root, as a person would."""
    executable = Path(sys.executable).with_name("inv")

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(executable), *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "COLUMNS": "200"},
        )

    return run


def add_job(conn, *, kind="process", queue="default", state="pending", attempt=0,
            reason=None, age_seconds=0.0, heartbeat_age=None) -> int:  # fmt: skip
    """A job in any state, created `age_seconds` ago, straight into the table."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO jobs (kind, queue, state, attempt, max_attempts, failure_reason,"
            " created_at, ended_at, heartbeat_at)"
            " VALUES (%s, %s, %s, %s, 3, %s, now() - make_interval(secs => %s),"
            " CASE WHEN %s IN ('failed', 'succeeded') THEN now() END,"
            " now() - make_interval(secs => %s)) RETURNING id",
            (kind, queue, state, attempt, reason, age_seconds, state,
             heartbeat_age if heartbeat_age is not None else 0),
        )  # fmt: skip
        job_id = cur.fetchone()[0]
    conn.commit()
    return job_id


def add_attempt(conn, job_id: int, attempt: int, outcome: str, seconds: float) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO job_attempts (job_id, attempt, memory_tier, started_at, ended_at, outcome)"
            " VALUES (%s, %s, 0, now() - make_interval(secs => %s), now(), %s)",
            (job_id, attempt, seconds, outcome),
        )
    conn.commit()
