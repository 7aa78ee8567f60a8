"""The deploy's smoke check: a foreman beats after it was restarted.

Times come from the database's clock on both sides (the restart instant and `beat_at`), so a
deploy machine whose clock is off cannot make a dead foreman look alive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from common.db import connection, fetch_one
from common.environments import Environment
from common.sql import query
from ops.deploy.errors import SmokeCheckError


@dataclass(frozen=True)
class Heartbeat:
    """One row of `foreman_heartbeats`."""

    foreman_id: str
    hostname: str
    pid: int
    version: str
    role: str
    started_at: datetime
    beat_at: datetime


def database_now(env: Environment) -> datetime:
    """The database server's current time (the reference clock for the smoke check)."""
    with connection(env) as conn, conn.cursor() as cur:
        cur.execute(query(__file__, "smoke.sql", "database_now"))
        return fetch_one(cur)[0]


def wait_for_fresh_heartbeat(
    env: Environment, *, since: datetime, timeout_seconds: float, poll_seconds: float = 0.5
) -> Heartbeat:
    """The first heartbeat with `beat_at` after `since`, or SmokeCheckError after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    with connection(env, autocommit=True) as conn, conn.cursor() as cur:
        while True:
            cur.execute(query(__file__, "smoke.sql", "fresh_heartbeat"), {"since": since})
            row = cur.fetchone()
            if row is not None:
                return Heartbeat(*row)
            if time.monotonic() >= deadline:
                cur.execute(query(__file__, "smoke.sql", "latest_heartbeat"))
                last = cur.fetchone()
                break
            time.sleep(poll_seconds)
    seen = (
        f"last beat {Heartbeat(*last).beat_at.isoformat()} from {last[1]} pid {last[2]}"
        if last
        else "no heartbeat at all"
    )
    raise SmokeCheckError(
        f"smoke check failed: no foreman heartbeat after the restart at {since.isoformat()} "
        f"within {timeout_seconds:g} s ({seen}); check the foreman's log on its host, then "
        f"re-run the deploy"
    )
