"""The record of metadata syncs and the quarantine, read back for people."""

from __future__ import annotations

from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, RealDictCursor

from common.db import fetch_one
from common.sql import query


def sql(name: str) -> str:
    return query(__file__, "metadata.sql", name)


def last_watermark(conn: Connection, project_id: int, source: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql("last_watermark"), {"project_id": project_id, "source": source})
        row = cur.fetchone()
    return row[0] if row else None


def start_run(
    conn: Connection, project_id: int, source: str, version: int, *, executed: bool, since: Any
) -> tuple[Any, ...]:
    """Record a run as `running` (the caller commits it at once): (run id, watermark)."""
    with conn.cursor() as cur:
        cur.execute(
            sql("start_run"),
            {
                "project_id": project_id,
                "source": source,
                "schema_version": version,
                "executed": executed,
                "since": since,
            },
        )
        return fetch_one(cur)


def finish_run(
    conn: Connection, run_id: int, state: str, summary: dict[str, Any], error: str | None
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            sql("finish_run"),
            {"run_id": run_id, "state": state, "summary": Json(summary), "error": error},
        )


def recent_runs(
    conn: Connection, project_id: int | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest runs first; a run still `running` long after it started was interrupted."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(sql("recent_runs"), {"project_id": project_id, "limit": limit})
        return [dict(row) for row in cur.fetchall()]


def open_quarantine(conn: Connection, project_id: int | None = None) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(sql("open_quarantine"), {"project_id": project_id})
        return [dict(row) for row in cur.fetchall()]


# Advisory-lock key of a live run: its session holds (key, run id) until it ends, however.
_RUN_KEY = 0x5EF10016
ABANDONED_REASON = (
    "its process ended without finishing (killed, or it lost its database connection)"
)


def hold_run(conn: Connection, run_id: int) -> None:
    """Mark `run_id` as alive for as long as `conn`'s session lasts."""
    with conn.cursor() as cur:
        cur.execute(sql("hold_run"), {"key": _RUN_KEY, "run_id": run_id})


def abandon_dead_runs(conn: Connection, project_id: int, source: str) -> list[int]:
    """Record as `abandoned` every run still `running` whose process is gone (its session's
    lock is free); returns their ids. The caller commits."""
    abandoned = []
    with conn.cursor() as cur:
        cur.execute(sql("running_runs"), {"project_id": project_id, "source": source})
        for (run_id,) in cur.fetchall():
            cur.execute(sql("probe_run"), {"key": _RUN_KEY, "run_id": run_id})
            if not fetch_one(cur)[0]:
                continue  # alive: another sync is running right now
            cur.execute(sql("release_run"), {"key": _RUN_KEY, "run_id": run_id})
            cur.execute(sql("abandon_run"), {"run_id": run_id, "reason": ABANDONED_REASON})
            abandoned.append(run_id)
    return abandoned


def previous_run(conn: Connection, project_id: int, source: str) -> dict[str, Any] | None:
    """The project's latest run from `source`, before the one about to start."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(sql("previous_run"), {"project_id": project_id, "source": source})
        row = cur.fetchone()
    return dict(row) if row else None


def counts_line(summary: dict[str, Any]) -> str:
    """A sync's counts as one line (`new_samples 3, changed_samples 1`), zeros left out."""
    return ", ".join(f"{k} {v}" for k, v in summary.get("counts", {}).items() if v)
