"""The smoke job of a refresh: one `no_op` application run through the real foreman and the
environment's own executor, against the copy — before the copy is swapped in.

The foreman runs as `python -m foreman run --until-idle` with `REFINERY_DATABASE_NAME` naming
the copy, so it and the workers it starts (which inherit the variable) work on the copy and
never on the live database. It is started again until the job has ended: `--until-idle`
returns once nothing is pending, while the job may still be running.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from common import db
from common.environments import DATABASE_NAME_VARIABLE, REPO_ROOT, Environment
from common.errors import CommandError
from common.shell import run_command
from foreman.jobs import FINAL_STATES, enqueue_job
from ops.staging.errors import RefreshError

SMOKE_RUN_BY = "staging-refresh"
_RECONCILE_EVERY_SECONDS = 10.0
_EXPERIMENT_WITH_STORED_FILES = """
SELECT e.id FROM experiments e
 WHERE EXISTS (SELECT FROM files f WHERE f.experiment_id = e.id AND f.kind = 'original')
   AND NOT EXISTS (SELECT FROM files f WHERE f.experiment_id = e.id AND f.kind = 'original'
                   AND f.stored_at IS NULL)
 ORDER BY e.id LIMIT 1
"""


@dataclass(frozen=True)
class SmokeResult:
    job_id: int
    experiment_id: int
    state: str
    reason: str
    analysis_id: int | None
    seconds: float


def run_smoke_job(env: Environment, database: str, *, timeout: float) -> SmokeResult:
    """Queue a no_op process job in `database` and run the foreman until the job has ended."""
    started = time.monotonic()
    with db.connection(env, dbname=database) as conn:
        with conn.cursor() as cur:
            cur.execute(_EXPERIMENT_WITH_STORED_FILES)
            row = cur.fetchone()
        if row is None:
            raise RefreshError(
                "the copy has no experiment whose files are all stored: nothing to run the "
                "smoke job on"
            )
        payload = {"application": "no_op", "experiment_ids": [row[0]], "run_by": SMOKE_RUN_BY}
        job_id, _ = enqueue_job(conn, "process", payload, max_attempts=1)
        conn.commit()
    deadline = started + timeout
    reason: str | None
    result: dict | None
    state, reason, result = "pending", "", None
    last_foreman = 0.0
    while time.monotonic() < deadline:
        state, reason, result = _job(env, database, job_id)
        if state in FINAL_STATES:
            break
        due = time.monotonic() - last_foreman >= _RECONCILE_EVERY_SECONDS
        if state in ("pending", "errored") or due:
            _run_foreman(env, database, deadline - time.monotonic())
            last_foreman = time.monotonic()
        else:
            time.sleep(0.2)
    seconds = round(time.monotonic() - started, 3)
    analysis = (result or {}).get("analysis_id")
    outcome = SmokeResult(job_id, row[0], state, reason or "", analysis, seconds)
    if state != "succeeded":
        why = reason or f"still {state} after {timeout:.0f} s"
        raise RefreshError(f"the smoke job {job_id} (no_op) did not succeed: {why}")
    return outcome


def _job(env: Environment, database: str, job_id: int) -> tuple[str, str | None, dict | None]:
    with db.connection(env, dbname=database) as conn, conn.cursor() as cur:
        cur.execute("SELECT state, failure_reason, result FROM jobs WHERE id = %s", (job_id,))
        return db.fetch_one(cur)


def _run_foreman(env: Environment, database: str, remaining: float) -> None:
    try:
        run_command(
            [sys.executable, "-m", "foreman", "run", "-e", env.name, "--until-idle"],
            env={DATABASE_NAME_VARIABLE: database},
            cwd=REPO_ROOT,
            timeout=max(remaining, 1.0),
        )
    except CommandError as exc:
        raise RefreshError(f"the smoke run's foreman failed: {exc}") from None
