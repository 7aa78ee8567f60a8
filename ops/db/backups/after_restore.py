"""After a restore: ids never repeat, and what the lake got after the backup is set aside.

A backup taken before some work brings back sequences from before that work. Left alone, the
next job and analysis would get the ids of work done after the backup — and ids name things
outside the database: `analyses/<id>/` in the lake, `job-<id>-<attempt>.log` among the worker
logs, `download-file-<id>.part` in the lake's staging area. New work would write over them.
So, with the writers still stopped, a restore

1. moves every lake object the restored catalog does not have stored to
   `.quarantine/after-restore-<time>/<key>`: kept, out of the way, and reported by
   `inv lake.check` (kind `after-restore`) until someone decides what to do with it;
2. advances every sequence past the highest value it ever had: the value the replaced database
   had reached (read before the swap, when it could be), and the highest id named outside the
   database (lake keys, worker logs, partial downloads) — so no id is ever issued twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg2
from psycopg2.extensions import connection as Connection

from common import db
from common.db import fetch_one
from common.environments import Environment
from common.errors import RefineryError
from common.lake import Lake, open_lake
from foreman.executors.local import worker_log_dir
from ops.lake.leftovers import AFTER_RESTORE_PREFIX, after_restore_objects
from ops.lake.listing import list_lake
from workers.downloaders.partials import PARTIAL_DOWNLOAD

# The tables whose ids name things outside the database, and where those names are found.
_ANALYSIS_KEY = re.compile(r"^analyses/(\d+)/", re.ASCII)
_JOB_LOG = re.compile(r"^job-(\d+)-", re.ASCII)


@dataclass
class AfterRestore:
    """What the restore did outside the restored tables."""

    quarantine: str = ""
    quarantined: list[str] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)  # advanced: name -> new last value

    def summary(self) -> str:
        moved = (
            f"{len(self.quarantined)} lake objects from after the backup kept in {self.quarantine}"
            if self.quarantined
            else "no lake objects from after the backup"
        )
        return f"{moved}; {len(self.sequences)} sequences advanced past ids already used"


def sequence_values(env: Environment) -> dict[str, int]:
    """{sequence: last value} of the live database; empty when it cannot be read."""
    try:
        with db.connection(env) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences"
                " WHERE last_value IS NOT NULL"
            )
            return dict(cur.fetchall())
    except (RefineryError, psycopg2.Error):
        return {}


def reconcile_after_restore(
    env: Environment, carried: dict[str, int], *, lake: Lake | None = None
) -> AfterRestore:
    """Quarantine the lake's objects from after the backup, then advance every sequence.

    A database without a catalog (no `files` table: not Refinery's, e.g. a benchmark's) says
    nothing about the lake, which is then left alone."""
    outcome = AfterRestore()
    with db.connection(env) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('public.files') IS NOT NULL")
            if not fetch_one(cur)[0]:
                outcome.sequences = advance_sequences(conn, carried, {})
                conn.commit()
                return outcome
            cur.execute("SELECT lake_key FROM files WHERE stored_at IS NOT NULL")
            stored = {row[0] for row in cur.fetchall()}
        lake = lake or open_lake(env)
        present = list_lake(lake, workers=4, progress=lambda *_: None)
        strays = sorted(set(present) - stored)
        if strays:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            outcome.quarantine = f"{AFTER_RESTORE_PREFIX}{stamp}/"
            for key in strays:
                lake.move_object(key, outcome.quarantine + key)
            outcome.quarantined = strays
        used = highest_external_ids(env, lake, present)
        outcome.sequences = advance_sequences(conn, carried, used)
        conn.commit()
    return outcome


def highest_external_ids(env: Environment, lake: Lake, lake_keys: Iterable[str]) -> dict[str, int]:
    """{table: highest id} named by lake keys, worker logs and partial downloads."""
    found: dict[str, int] = {}

    def saw(table: str, pattern: re.Pattern[str], names: Iterable[str]) -> None:
        for name in names:
            match = pattern.match(name)
            if match:
                found[table] = max(found.get(table, 0), int(match.group(1)))

    saw("analyses", _ANALYSIS_KEY, lake_keys)
    saw("analyses", _ANALYSIS_KEY, (item.key for item in after_restore_objects(lake)))
    logs = worker_log_dir(env)
    if logs.is_dir():
        saw("jobs", _JOB_LOG, (path.name for path in logs.iterdir()))
    saw("files", PARTIAL_DOWNLOAD, (staged.name for staged in lake.staged_files()))
    return found


def advance_sequences(
    conn: Connection, carried: dict[str, int], used: dict[str, int]
) -> dict[str, int]:
    """Move each sequence to at least its carried value and past its table's used ids."""
    wanted = dict(carried)
    with conn.cursor() as cur:
        for table, highest in used.items():
            cur.execute(
                "SELECT CASE WHEN to_regclass(%(table)s) IS NOT NULL"
                " THEN pg_get_serial_sequence(%(table)s, 'id') END",
                {"table": f"public.{table}"},
            )
            (sequence,) = fetch_one(cur)
            if sequence:
                wanted[sequence] = max(wanted.get(sequence, 0), highest)
        cur.execute(
            "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, 0)"
            " FROM pg_sequences"
        )
        current = dict(cur.fetchall())
        advanced = {}
        for sequence, value in sorted(wanted.items()):
            if sequence in current and value > current[sequence]:
                cur.execute("SELECT setval(%s::regclass, %s)", (sequence, value))
                advanced[sequence] = value
    return advanced
