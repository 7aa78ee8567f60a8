"""A fresh bench database holding a queue of pending jobs: what every dispatch bench starts from.

`inv bench.foreman`, `inv bench.batch` and `inv bench.curve` all measure the foreman claiming
jobs from a queue it did not fill itself, so they share how that queue is made: a database of
its own on the environment's (embedded) server, migrated, filled in one server-side statement
(a million rows in seconds, no round trip per job), and ANALYZEd as autovacuum would after
such an insert, so the planner sees the queue the foreman would meet in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from psycopg2.extensions import connection as Connection

from common import db
from common.environments import Environment, ExecutorSettings
from foreman.migrations import apply_migrations

NO_OP_JOBS = """
INSERT INTO jobs (kind, payload)
SELECT 'process', '{"application": "no_op"}' FROM generate_series(1, %s)
"""


def bench_environment(env: Environment, database: str, **overrides: Any) -> Environment:
    """`env` pointed at the bench database `database`; the null executor unless overridden."""
    sections: dict[str, Any] = {"executor": ExecutorSettings(kind="null"), "extra": {}}
    return replace(env, database=replace(env.database, name=database), **(sections | overrides))


def fresh_database(target: Environment) -> None:
    """Drop and create `target`'s database on its server (empty, not migrated)."""
    db.drop_database(target, target.database.name)
    db.create_database(target, target.database.name)


@contextmanager
def pending_queue(target: Environment, jobs: int) -> Iterator[Connection]:
    """A migrated fresh database for `target` holding `jobs` pending no-op process jobs;
    yields a connection to it, then drops it."""
    fresh_database(target)
    try:
        with db.connection(target) as conn:
            apply_migrations(conn)
            with conn.cursor() as cur:
                cur.execute(NO_OP_JOBS, (jobs,))
                cur.execute("ANALYZE")
            conn.commit()
            yield conn
    finally:
        db.drop_database(target, target.database.name)
