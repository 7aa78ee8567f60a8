"""`inv db.migrate` on an empty database: a dry run lists every migration and applies none,
then every one is applied once, and a second run has nothing to do."""

from __future__ import annotations

import pytest

from common import db
from common.environments import load_environment
from foreman.migrations import all_migrations
from tests.support.inv import run_inv

pytestmark = pytest.mark.integration


def _tables(env) -> int:
    conn = db.connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_migrate_applies_every_migration_to_an_empty_database(make_env):
    env = make_env("migrate")
    empty = f"{env.database.name}_empty"
    db.create_database(load_environment("template"), empty, template="template0")
    env = make_env("migrateempty", database={"name": empty})
    names = [migration.name for migration in all_migrations()]

    dry = run_inv("db.migrate", "-e", env.name, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert " ".join(dry.stdout.split()) == f"{env.name}: would apply {', '.join(names)}"
    assert _tables(env) == 0

    applied = run_inv("db.migrate", "-e", env.name)
    assert applied.returncode == 0, applied.stderr
    assert " ".join(applied.stdout.split()) == f"{env.name}: applied {', '.join(names)}"
    assert _tables(env) > 10

    again = run_inv("db.migrate", "-e", env.name)
    assert again.stdout.strip() == f"{env.name}: schema up to date ({len(names)} applied)"
