"""The migrations and `schema.sql` describe the same schema, and migrating is idempotent."""

from __future__ import annotations

import re

import pytest

from common import db
from common.embedded import postgres_bin
from common.pgpass import libpq_child_environment
from common.shell import run_command
from foreman.migrations import SCHEMA_FILE, apply_migrations

pytestmark = pytest.mark.integration


def _schema_dump(env, dbname: str) -> str:
    with libpq_child_environment(env, dbname=dbname) as libpq:
        result = run_command(
            [postgres_bin("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
             "--exclude-table=schema_migrations", dbname],
            env=libpq,
        )  # fmt: skip
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.strip() and not line.startswith("--") and not re.match(r"^\\(un)?restrict ", line)
    ]
    return "\n".join(lines)


def test_applying_every_migration_gives_schema_sql(env, make_env):
    scratch = make_env("scratch")
    db.drop_database(scratch, scratch.database.name)
    db.create_database(scratch, scratch.database.name, template="template0")
    with db.connect(scratch) as conn, conn.cursor() as cur:
        cur.execute(SCHEMA_FILE.read_text())
    assert _schema_dump(env, env.database.name) == _schema_dump(scratch, scratch.database.name)


def test_migrating_twice_changes_nothing(conn):
    report = apply_migrations(conn)
    assert report.applied == []
    assert "0002_jobs" in report.already_applied
