"""Checks of a copy before it may replace staging: every foreign key holds, and every table
has the rows the backup's manifest says it had — except the change logs that the copy's own
writes append to (APPENDED_BY_WRITES), which must have at least as many.

Foreign keys are checked by an anti-join per constraint found in pg_catalog (child rows whose
key is set but matches no parent row), which also catches a constraint restored NOT VALID and
says how many rows break it, where `VALIDATE CONSTRAINT` would only stop at the first.
"""

from __future__ import annotations

from typing import Any

from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from common.db import fetch_one

# Logs that a trigger appends to on every catalog write: anonymising a copy's rows notes each
# one for the search index (common/search), so such a table only ever gains rows.
APPENDED_BY_WRITES = frozenset({"public.search_changes"})

_FOREIGN_KEYS = """
SELECT c.conname, cn.nspname, cl.relname, pn.nspname, pl.relname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
  FROM pg_constraint c
  JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
  JOIN pg_class pl ON pl.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pl.relnamespace
 WHERE c.contype = 'f' AND cn.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY cl.relname, c.conname
"""


def foreign_key_violations(conn: Connection) -> tuple[int, list[dict[str, Any]]]:
    """(how many foreign keys were checked, the ones with orphan rows and how many)."""
    with conn.cursor() as cur:
        cur.execute(_FOREIGN_KEYS)
        constraints = cur.fetchall()
        broken = []
        for name, schema, table, parent_schema, parent, columns, parent_columns in constraints:
            child_alias, parent_alias = sql.Identifier("child"), sql.Identifier("parent")
            matches = sql.SQL(" AND ").join(
                sql.SQL("{}.{} = {}.{}").format(
                    parent_alias, sql.Identifier(p), child_alias, sql.Identifier(c)
                )
                for c, p in zip(columns, parent_columns, strict=True)
            )
            present = sql.SQL(" AND ").join(
                sql.SQL("{}.{} IS NOT NULL").format(child_alias, sql.Identifier(c)) for c in columns
            )
            cur.execute(
                sql.SQL(
                    "SELECT count(*) FROM {child_table} AS child WHERE {present} AND NOT EXISTS "
                    "(SELECT FROM {parent_table} AS parent WHERE {matches})"
                ).format(
                    child_table=sql.Identifier(schema, table),
                    parent_table=sql.Identifier(parent_schema, parent),
                    present=present,
                    matches=matches,
                )
            )
            orphans = fetch_one(cur)[0]
            if orphans:
                broken.append({
                    "constraint": name, "table": f"{schema}.{table}",
                    "references": f"{parent_schema}.{parent}", "orphan_rows": orphans,
                })  # fmt: skip
    return len(constraints), broken


def row_count_differences(
    conn: Connection, manifest_tables: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, int | None]], list[str]]:
    """({table: {manifest, actual}}, one line per table whose count differs or is missing)."""
    counts: dict[str, dict[str, int | None]] = {}
    problems = []
    with conn.cursor() as cur:
        for table, entry in sorted(manifest_tables.items()):
            schema, _, name = table.partition(".")
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (sql.Identifier(schema, name)
                                                              .as_string(conn),))  # fmt: skip
            if not fetch_one(cur)[0]:
                counts[table] = {"manifest": entry["rows"], "actual": None}
                problems.append(f"table {table} is missing")
                continue
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name)))
            actual = int(fetch_one(cur)[0])
            counts[table] = {"manifest": int(entry["rows"]), "actual": actual}
            expected = int(entry["rows"])
            if actual < expected or (actual > expected and table not in APPENDED_BY_WRITES):
                problems.append(f"table {table} has {actual} rows, the backup had {entry['rows']}")
    return counts, problems
