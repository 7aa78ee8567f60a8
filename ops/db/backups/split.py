"""Big tables dumped and loaded in several pieces at once.

`pg_dump -j` parallelises across tables, so one table holding most of the data is dumped by
one session and restored by one COPY, which leaves the other cores idle. A table at least
SPLIT_MIN_BYTES large is therefore left out of pg_dump's data (`--exclude-table-data`) and
dumped by us as block ranges (`WHERE ctid >= '(a,0)' AND ctid < '(b,0)'`, the last range
open-ended, so the ranges cover every row exactly once) on the SAME exported snapshot as the
rest of the dump, each range by one session that then fingerprints the same range (the
ranges' sums make the table's checksum; copy_out.py). Each range is a zstd file of COPY
data under `dump/split/` — hashed into the manifest like every other file, loadable by hand
with `zstd -dc f | psql -c "COPY …"` — and a restore loads them (frozen, see
load_split_tables) before the indexes are built.
A table whose columns all have built-in types is copied in COPY's binary format: the server
spends about 20% less CPU sending it and far less reading it back than parsing text (load
it by hand with `COPY … FROM STDIN (FORMAT binary)`); other tables in text, as pg_dump does.
zstd level 1 (not pg_dump's gzip) because it compresses this text about 5x faster than
gzip level 1 and smaller (measured on pgbench rows: 0.4 s vs 2.2 s of CPU for 586 MB).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from itertools import pairwise
from pathlib import Path
from typing import Any

import zstandard
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from common.db import fetch_one
from common.sql import query
from ops.db.backups.copy_out import RangeCopy, copy_ranges
from ops.db.backups.tables import Fingerprints, fingerprint_table, row_hash_expression

# Below this a table's COPY takes a second or two and splitting it buys nothing.
SPLIT_MIN_BYTES = 64 * 1024 * 1024
SPLIT_DIR = "split"
SPLIT_COMPRESSION = "zstd:1"
BINARY_WHEN_POSSIBLE = True
_BLOCK = 1024 * 1024

SplitTables = dict[str, dict[str, Any]]


def plan_split_tables(
    conn: Connection, ranges: int, *, min_bytes: int | None = None
) -> SplitTables:
    """{"schema.table": {schema, name, columns, ranges: [[first_block, end_block|None]], files}}
    for every plain table of at least `min_bytes`, read inside the snapshot transaction."""
    threshold = SPLIT_MIN_BYTES if min_bytes is None else min_bytes
    with conn.cursor() as cur:
        cur.execute(query(__file__, "tables.sql", "splittable_tables"), {"min_bytes": threshold})
        candidates = cur.fetchall()
    encoding = database_encoding(conn)
    plan: SplitTables = {}
    for number, (schema, name, blocks, columns, built_in) in enumerate(candidates, start=1):
        count = max(1, min(ranges, blocks))
        bounds = [blocks * index // count for index in range(count)]
        spans = [[start, end] for start, end in pairwise(bounds)]
        spans.append([bounds[-1], None])
        plan[f"{schema}.{name}"] = {
            "schema": schema,
            "name": name,
            "columns": list(columns),
            "encoding": encoding,
            "compression": SPLIT_COMPRESSION,
            "format": "binary" if built_in and BINARY_WHEN_POSSIBLE else "text",
            "ranges": spans,
            "files": [f"{SPLIT_DIR}/{number:04d}.{part}.copy.zst" for part in range(len(spans))],
        }
    return plan


def exclude_data_arguments(plan: SplitTables) -> list[str]:
    """pg_dump options leaving the split tables' rows to us (names quoted: taken literally)."""
    quoted = ('"' + part.replace('"', '""') + '"' for entry in plan.values()
              for part in (entry["schema"], entry["name"]))  # fmt: skip
    names = list(quoted)
    return [f"--exclude-table-data={names[i]}.{names[i + 1]}" for i in range(0, len(names), 2)]


def _range_condition(start: int, end: int | None) -> sql.Composable:
    condition = sql.SQL("ctid >= {}::tid").format(sql.Literal(f"({start},0)"))
    if end is not None:
        condition = sql.SQL("{} AND ctid < {}::tid").format(condition, sql.Literal(f"({end},0)"))
    return condition


def _range_select(conn: Connection, entry: dict[str, Any], condition: sql.Composable) -> str:
    return (
        sql.SQL("SELECT {} FROM ONLY {} WHERE {}")
        .format(
            sql.SQL(", ").join(sql.Identifier(column) for column in entry["columns"]),
            sql.Identifier(entry["schema"], entry["name"]),
            condition,
        )
        .as_string(conn)
    )


def _range_fingerprint(
    conn: Connection, entry: dict[str, Any], row_hash: sql.Composable, condition: sql.Composable
) -> str:
    return (
        sql.SQL(query(__file__, "tables.sql", "range_fingerprint"))
        .format(
            table=sql.Identifier(entry["schema"], entry["name"]),
            row_hash=row_hash,
            condition=condition,
        )
        .as_string(conn)
    )


def dump_split_tables(
    conn: Connection, plan: SplitTables, payload: Path, connection: dict[str, Any], snapshot: str,
    *, sessions: int,
) -> Fingerprints:  # fmt: skip
    """Write every range of every split table on `sessions` connections reading `snapshot`,
    and return the tables' fingerprints (see copy_out.py).

    `conn` (inside the snapshot's transaction) only reads column types and quotes the
    statements. A table whose column hash the server refuses is fingerprinted as a whole.
    """
    (payload / SPLIT_DIR).mkdir(parents=True, exist_ok=True)
    work = []
    for key, entry in plan.items():
        row_hash = row_hash_expression(conn, entry["schema"], entry["name"])  # once per table
        for (start, end), relative in zip(entry["ranges"], entry["files"], strict=True):
            condition = _range_condition(start, end)
            work.append(RangeCopy(
                table=key,
                select=_range_select(conn, entry, condition),
                fingerprint=_range_fingerprint(conn, entry, row_hash, condition),
                copy_format="binary" if entry.get("format") == "binary" else "text",
                target=payload / relative,
            ))  # fmt: skip
    sums = copy_ranges(connection, snapshot, plan_encoding(plan), work, sessions=sessions)
    fingerprints: Fingerprints = {}
    for key, value in sums.items():
        entry = plan[key]
        fingerprints[key] = value or fingerprint_table(conn, entry["schema"], entry["name"])
    return fingerprints


def plan_encoding(plan: SplitTables) -> str:
    return next(iter(plan.values()))["encoding"] if plan else "UTF8"


def database_encoding(conn: Connection) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_encoding_to_char(encoding) FROM pg_database "
                    "WHERE datname = current_database()")  # fmt: skip
        return fetch_one(cur)[0]


def _set_encoding(encoding: str) -> sql.Composed:
    """Load in the database's own encoding, as the ranges were dumped: no conversion."""
    return sql.SQL("SET client_encoding = {}").format(sql.Literal(encoding))


def load_split_tables(
    open_connection: Callable[[], AbstractContextManager[Connection]],
    plan: SplitTables,
    payload: Path,
    *,
    sessions: int,
) -> None:
    """Load every split table, up to `sessions` tables at once, each in ONE transaction that
    truncates it and COPYs all its ranges with FREEZE.

    Measured on the benchmark's 6M-row table: two sessions COPYing ranges into one table load
    ~40% faster, but the first scan afterwards (the primary key's build) then sets hint bits
    on every page and, a checkpoint having passed during the load, WAL-logs each page again
    (~650 MB extra WAL, the index build twice as long); frozen rows need no hint bits and
    leave the table all-visible, so the whole restore takes as long with half the WAL.
    FREEZE needs the table truncated in the same transaction: hence one session per table.
    """
    todo = list(plan.values())
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                entry = todo.pop(0)
            _load_frozen(open_connection, entry, payload)

    run_all([worker] * max(1, min(sessions, len(todo))))


def _load_frozen(
    open_connection: Callable[[], AbstractContextManager[Connection]],
    entry: dict[str, Any],
    payload: Path,
) -> None:
    table = sql.Identifier(entry["schema"], entry["name"])
    with open_connection() as conn:
        with conn.cursor() as cur:
            # Nothing reads the new database before the swap, whose own commit flushes all
            # earlier WAL: this commit need not wait for the disk.
            cur.execute("SET synchronous_commit = off")
            cur.execute(_set_encoding(entry["encoding"]))
            cur.execute(sql.SQL("TRUNCATE ONLY {}").format(table))
            statement = (
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {}, FREEZE)")
                .format(
                    table,
                    sql.SQL(", ").join(sql.Identifier(column) for column in entry["columns"]),
                    sql.SQL("binary" if entry.get("format") == "binary" else "text"),
                )
                .as_string(conn)
            )
            for relative in entry["files"]:
                decompressor = zstandard.ZstdDecompressor()  # not shareable across threads
                with open(payload / relative, "rb") as raw, decompressor.stream_reader(raw) as rows:
                    cur.copy_expert(statement, rows, size=_BLOCK)
        conn.commit()


def run_all(actions: Sequence[Callable[[], object]]) -> None:
    """Run each action on its own thread; re-raise the first failure after all stop."""
    errors: list[BaseException] = []

    def guarded(action: Callable[[], object]) -> None:
        try:
            action()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(a,), daemon=True) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
