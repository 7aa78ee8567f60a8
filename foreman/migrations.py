"""Schema migrations: plain SQL files applied in order, each recorded once.

`foreman/sql/migrations/<NNNN>_<name>.sql` files are applied in file-name order inside one
transaction each, under an advisory lock so two deploys cannot migrate at once. Applying is
safe to re-run: a recorded migration is skipped. `foreman/sql/schema.sql` is the current
schema in one file; a test proves the migrations and it agree.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from psycopg2.extensions import connection as Connection

from common.db import fetch_one
from common.errors import DatabaseError, first_line

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("sql") / "migrations"
SCHEMA_FILE = Path(__file__).with_name("sql") / "schema.sql"
_LOCK_KEY = 0x5EF1_0001

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class MigrationReport:
    """What `apply_migrations` found and did."""

    applied: list[str]
    already_applied: list[str]


def all_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file, in the order it must be applied."""
    return [Migration(path.stem, path) for path in sorted(directory.glob("[0-9]*.sql"))]


def applied_migrations(conn: Connection) -> dict[str, str]:
    """{name: sha256} of the migrations recorded in the database."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not fetch_one(cur)[0]:
            return {}
        cur.execute("SELECT name, sha256 FROM schema_migrations")
        return dict(cur.fetchall())


def pending_migrations(conn: Connection) -> list[Migration]:
    """Migrations not yet applied; refuses when an applied file was edited afterwards."""
    recorded = applied_migrations(conn)
    pending = []
    for migration in all_migrations():
        if migration.name not in recorded:
            pending.append(migration)
        elif recorded[migration.name] != migration.sha256:
            raise DatabaseError(
                f"migration {migration.name} changed after it was applied; "
                "add a new migration instead of editing an old one"
            )
    return pending


def apply_migrations(conn: Connection, *, dry_run: bool = False) -> MigrationReport:
    """Apply every pending migration, one transaction each, under an advisory lock."""
    if conn.autocommit:
        conn.autocommit = False
    conn.commit()  # start from a clean transaction boundary
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    conn.commit()
    try:
        recorded = applied_migrations(conn)
        todo = pending_migrations(conn)
        if dry_run:
            return MigrationReport([m.name for m in todo], sorted(recorded))
        with conn.cursor() as cur:
            cur.execute(_CREATE_TABLE)
        conn.commit()
        for migration in todo:
            log.info("applying migration %s", migration.name)
            try:
                with conn.cursor() as cur:
                    cur.execute(migration.sql)
                    cur.execute(
                        "INSERT INTO schema_migrations (name, sha256) VALUES (%s, %s)",
                        (migration.name, migration.sha256),
                    )
                conn.commit()
            except Exception as exc:
                conn.rollback()
                reason = first_line(exc, "")
                raise DatabaseError(f"migration {migration.name} failed: {reason}") from exc
        return MigrationReport([m.name for m in todo], sorted(recorded))
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
        conn.commit()
