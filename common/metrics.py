"""The one metrics layer: every figure any view shows (Prometheus, `inv jobs.top`, the console,
CloudWatch) is read here, from the database, so no two views can disagree.

A `Snapshot` holds, per queue and kind, the jobs pending, dispatched, running, errored and
failed, the queue's capacity, the age of the oldest pending job (0 when none waits), running
jobs with a silent worker, and counters (attempts dispatched, attempt outcomes, a histogram of
attempt durations); the failures grouped by normalised reason (`refinery_reason_group` in the
schema); the foremen's heartbeats and the version the leader runs; the newest backup and the
last lake check as their commands recorded them.

History is one `metrics_minutes` row per minute and (queue, kind), written by the leading
foreman and kept for `ROLLUP_DAYS` days: the gauges as they stood and the counters' totals.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor, execute_values

from common.db import fetch_one
from common.sql import query

log = logging.getLogger(__name__)

ROLLUP_DAYS = 30
# Attempt durations, in seconds, that the histogram counts up to (a last bucket takes the rest).
DURATION_BOUNDS: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 14400)
OUTCOMES = ("succeeded", "errored", "lost", "cancelled")
REASONS_SHOWN = 20
UNLIMITED = 1_000_000_000


def _sql(name: str) -> str:
    return query(__file__, "metrics.sql", name)


@dataclass
class QueueFigures:
    """The jobs of one queue and kind, now, and the counters so far."""

    queue: str
    kind: str
    pending: int = 0
    dispatched: int = 0
    running: int = 0
    errored: int = 0
    failed: int = 0
    capacity: int = 0
    oldest_pending_seconds: float = 0.0
    stale_heartbeats: int = 0
    dispatches_total: int = 0
    outcomes_total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    # cumulative: duration_buckets[i] attempts took less than DURATION_BOUNDS[i]; the last
    # entry counts every finished attempt
    duration_buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BOUNDS) + 1))
    duration_sum_seconds: float = 0.0

    @property
    def duration_count(self) -> int:
        return self.duration_buckets[-1]


@dataclass(frozen=True)
class ReasonGroup:
    """Failed jobs that gave up for the same (normalised) reason."""

    reason: str
    kind: str
    queue: str
    jobs: int
    last_at: datetime | None
    latest_job_id: int


@dataclass(frozen=True)
class ForemanBeat:
    foreman_id: str
    role: str
    version: str
    age_seconds: float


@dataclass(frozen=True)
class BackupFact:
    """The newest backup: its name and kind, how old it is, whether a restore proved it."""

    name: str
    kind: str
    age_seconds: float
    verified: bool | None


@dataclass(frozen=True)
class LakeCheckFact:
    """The last `inv lake.check`: how long ago, and whether lake and catalog agreed."""

    age_seconds: float
    in_sync: bool
    differences: int
    lake: str


@dataclass
class Snapshot:
    """Everything the views show, read in one transaction."""

    taken_at: datetime
    queues: list[QueueFigures]
    failure_reasons: list[ReasonGroup]
    foremen: list[ForemanBeat]
    backup: BackupFact | None
    lake_check: LakeCheckFact | None

    @property
    def leader(self) -> ForemanBeat | None:
        return next((beat for beat in self.foremen if beat.role == "leader"), None)

    @property
    def deployed_version(self) -> str:
        """The release the leading foreman runs (what the last deploy put there)."""
        return self.leader.version if self.leader else ""

    def totals(self) -> dict[str, int]:
        """Jobs per live state over every queue and kind."""
        states = ("pending", "dispatched", "running", "errored", "failed", "stale_heartbeats")
        return {state: sum(getattr(q, state) for q in self.queues) for state in states}

    def as_dict(self) -> dict[str, Any]:
        value = asdict(self)
        for figures in value["queues"]:
            figures["duration_bounds"] = list(DURATION_BOUNDS)
        value["deployed_version"] = self.deployed_version
        value["totals"] = self.totals()
        return value


def collect(
    conn: Connection,
    *,
    capacity: Callable[[str], int],
    stale_after_seconds: float,
    reasons: int = REASONS_SHOWN,
) -> Snapshot:
    """Read every figure in one read-only transaction (so they agree with each other).

    `capacity(queue)` is the executor's limit for a queue, as the dispatcher applies it.
    """
    autocommit = conn.autocommit
    conn.rollback()
    conn.autocommit = False
    conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
    try:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute(_sql("now"))
            taken_at = fetch_one(cur)["now"]
            cur.execute(_sql("job_gauges"), {"stale": stale_after_seconds})
            figures = {(row["queue"], row["kind"]): QueueFigures(**row) for row in cur.fetchall()}
            cur.execute(_sql("attempt_outcomes"), {"bounds": list(DURATION_BOUNDS)})
            _add_outcomes(figures, cur.fetchall())
            cur.execute(_sql("failure_reasons"), {"limit": reasons})
            failure_reasons = [ReasonGroup(**row) for row in cur.fetchall()]
            cur.execute(_sql("foremen"))
            foremen = [ForemanBeat(**row) for row in cur.fetchall()]
            cur.execute(_sql("last_backup"))
            row = cur.fetchone()
            backup = BackupFact(**row) if row else None
            cur.execute(_sql("last_lake_check"))
            row = cur.fetchone()
            lake_check = LakeCheckFact(**row) if row else None
    finally:
        conn.rollback()
        conn.set_session(readonly="default", isolation_level="DEFAULT")
        conn.autocommit = autocommit
    limits: dict[str, int] = {}
    for figure in figures.values():
        if figure.queue not in limits:
            limits[figure.queue] = min(int(capacity(figure.queue)), UNLIMITED)
        figure.capacity = limits[figure.queue]
    return Snapshot(
        taken_at=taken_at,
        queues=sorted(figures.values(), key=lambda q: (q.queue, q.kind)),
        failure_reasons=failure_reasons,
        foremen=foremen,
        backup=backup,
        lake_check=lake_check,
    )


def _add_outcomes(
    figures: dict[tuple[str, str], QueueFigures], rows: Sequence[Mapping[str, Any]]
) -> None:
    per_bucket: dict[tuple[str, str], list[int]] = defaultdict(
        lambda: [0] * (len(DURATION_BOUNDS) + 1)
    )
    for row in rows:
        key = (row["queue"], row["kind"])
        figure = figures.setdefault(key, QueueFigures(*key))
        figure.outcomes_total[row["outcome"]] += int(row["attempts"])
        figure.duration_sum_seconds += float(row["seconds"])
        bucket = min(max(int(row["bucket"] or 0), 0), len(DURATION_BOUNDS))
        per_bucket[key][bucket] += int(row["attempts"])
    for key, counts in per_bucket.items():
        running = 0
        for index, count in enumerate(counts):
            running += count
            figures[key].duration_buckets[index] = running


# -- history -------------------------------------------------------------------------------
def write_rollup(conn: Connection, snapshot: Snapshot) -> int:
    """Record the snapshot as its minute's rows (once per minute; a second call that minute
    changes nothing). Commits; returns the rows written."""
    minute = snapshot.taken_at.replace(second=0, microsecond=0)
    rows = [
        (
            minute, q.queue, q.kind, q.pending, q.dispatched, q.running, q.errored, q.failed,
            q.capacity, q.oldest_pending_seconds, q.stale_heartbeats, q.dispatches_total,
            q.outcomes_total["succeeded"], q.outcomes_total["errored"],
            q.outcomes_total["lost"], q.outcomes_total["cancelled"],
            list(DURATION_BOUNDS), q.duration_buckets, q.duration_sum_seconds,
        )
        for q in snapshot.queues
    ]  # fmt: skip
    with conn.cursor() as cur:
        if rows:
            execute_values(cur, _sql("insert_minute"), rows)
        written = cur.rowcount if rows else 0
    conn.commit()
    return max(written, 0)


def prune_history(conn: Connection, *, days: int = ROLLUP_DAYS) -> int:
    """Delete rollups and lake-check records older than `days`; commits; returns rows gone."""
    with conn.cursor() as cur:
        cur.execute(_sql("prune_minutes"), {"days": days})
        removed = cur.rowcount
        cur.execute(_sql("prune_lake_checks"), {"days": days})
        removed += cur.rowcount
    conn.commit()
    return removed


def history(
    conn: Connection, *, minutes: int = 60, queue: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Per-minute rows of the last `minutes`, summed over the queues and kinds asked for."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("history"), {"minutes": minutes, "queue": queue, "kind": kind})
        rows = [dict(row) for row in cur.fetchall()]
    conn.commit()
    return rows


# -- facts recorded by the commands that are not jobs ---------------------------------------
def record_backup_state(
    conn: Connection,
    environment: str,
    newest: dict[str, Any] | None,
) -> None:
    """Remember the environment's newest backup (name, kind, created_at, verified,
    verified_at), or that it has none; commits."""
    with conn.cursor() as cur:
        if newest is None:
            cur.execute(_sql("forget_backup"), {"environment": environment})
        else:
            cur.execute(_sql("upsert_backup"), {"environment": environment, **newest})
    conn.commit()


def record_lake_check(
    conn: Connection,
    *,
    lake: str,
    in_sync: bool,
    differences: int,
    catalog_files: int,
    lake_objects: int,
    checksums: bool,
) -> None:
    """Remember one lake check's outcome; commits."""
    with conn.cursor() as cur:
        cur.execute(
            _sql("insert_lake_check"),
            {
                "lake": lake,
                "in_sync": in_sync,
                "differences": differences,
                "catalog_files": catalog_files,
                "lake_objects": lake_objects,
                "checksums": checksums,
            },
        )
    conn.commit()
