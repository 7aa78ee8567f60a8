"""Per-table row counts and content checksums, computed in SQL.

The backup computes them in the very snapshot pg_dump dumps (`pg_export_snapshot` +
`pg_dump --snapshot`), and verify/restore compute them again on what was restored: equal
numbers prove the restored data is the data that was backed up, not merely that pg_restore
exited 0. Tables are checked on several connections at once, largest first.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from common.db import fetch_one
from common.sql import query

Fingerprints = dict[str, dict[str, Any]]


def user_tables(conn: Connection) -> list[tuple[str, str]]:
    with conn.cursor() as cur:
        cur.execute(query(__file__, "tables.sql", "user_tables"))
        return [(schema, name) for schema, name in cur.fetchall()]


def fingerprint_table(conn: Connection, schema: str, name: str) -> dict[str, Any]:
    """Rows and checksum of one table, inside the caller's (snapshot) transaction."""
    table = sql.Identifier(schema, name)
    with conn.cursor() as cur:
        # A savepoint keeps the transaction, and so the exported snapshot, usable when the
        # fast hash is refused for a column type without a hash function.
        cur.execute("SAVEPOINT fingerprint")
        try:
            cur.execute(
                sql.SQL(query(__file__, "tables.sql", "table_fingerprint")).format(
                    table=table, row_hash=row_hash_expression(conn, schema, name)
                )
            )
        except (psycopg2.errors.UndefinedFunction, psycopg2.errors.FeatureNotSupported):
            cur.execute("ROLLBACK TO SAVEPOINT fingerprint")
            cur.execute(sql.SQL(query(__file__, "tables.sql", "table_fingerprint_as_text"))
                        .format(table=table))  # fmt: skip
        rows, checksum = fetch_one(cur)
        cur.execute("RELEASE SAVEPOINT fingerprint")
    return {"rows": int(rows), "checksum": checksum}


def row_hash_expression(conn: Connection, schema: str, name: str) -> sql.Composable:
    """XOR of each column's seeded 64-bit hash (see table_fingerprint in tables.sql).

    Text-like values are hashed under the "C" collation, that is by their bytes: under a
    nondeterministic collation (case-insensitive, say) the type's hash hashes the sort key,
    and a backup in which 'abc' had become 'ABC' would still match its checksum.
    """
    qualified = sql.Identifier(schema, name).as_string(conn)
    with conn.cursor() as cur:
        cur.execute(query(__file__, "tables.sql", "column_hash_functions"), {"table": qualified})
        columns = cur.fetchall()
    if not columns:
        return sql.SQL("0")
    parts = []
    for seed, (column, function, collatable) in enumerate(columns, start=1):
        value = sql.SQL("t.{}").format(sql.Identifier(column))
        if function and function != "-":
            if collatable:
                value = sql.SQL('{} COLLATE "C"').format(value)
            hashed = sql.SQL("{}({}, {})").format(sql.SQL(function), value, sql.Literal(seed))
        else:  # no hash function for this type: hash its text form
            hashed = sql.SQL('hashtextextended({}::text COLLATE "C", {})').format(
                value, sql.Literal(seed)
            )
        parts.append(sql.SQL("coalesce({}, {})").format(hashed, sql.Literal(seed)))
    return sql.SQL(" # ").join(parts)


def fingerprint_tables(
    open_connection: Callable[[], AbstractContextManager[Connection]],
    tables: list[tuple[str, str]],
    *,
    workers: int | None = None,
    snapshot: str | None = None,
) -> Fingerprints:
    """{"schema.table": {rows, checksum}} using up to `workers` connections in parallel.

    With `snapshot`, every connection reads that exported snapshot (the backup's).
    """
    todo: queue.Queue[tuple[str, str]] = queue.Queue()
    for table in tables:
        todo.put(table)
    results: Fingerprints = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            with open_connection() as conn:
                with conn.cursor() as cur:
                    cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    if snapshot:
                        cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
                while not errors:
                    try:
                        schema, name = todo.get_nowait()
                    except queue.Empty:
                        return
                    value = fingerprint_table(conn, schema, name)
                    with lock:
                        results[f"{schema}.{name}"] = value
        except BaseException as exc:
            errors.append(exc)

    count = max(1, min(workers or os.cpu_count() or 2, len(tables)))
    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return dict(sorted(results.items()))


def compare_fingerprints(expected: Fingerprints, actual: Fingerprints) -> list[str]:
    """Differences between the manifest's tables and a restored database's, one per table."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want is None:
            problems.append(f"table {table} is not in the manifest")
        elif got is None:
            problems.append(f"table {table} is missing after restore")
        elif want["rows"] != got["rows"]:
            problems.append(f"table {table} has {got['rows']} rows, manifest says {want['rows']}")
        elif want["checksum"] != got["checksum"]:
            problems.append(f"table {table} content checksum differs from the manifest")
    return problems
