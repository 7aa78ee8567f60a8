"""`common.db.connection`: the one way to hold a connection, closed however its block ends;
`transaction` (built on it) commits on success and rolls back on any error."""

from __future__ import annotations

import pytest

from common import db
from tests.conftest import SESSION_CLUSTER_SETTINGS

pytestmark = pytest.mark.integration


def test_a_connection_is_closed_when_its_block_ends_and_when_it_fails(env):
    with db.connection(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert db.fetch_one(cur)[0] == 1
    assert conn.closed
    with pytest.raises(RuntimeError, match="boom"), db.connection(env, autocommit=True) as failing:
        assert failing.autocommit
        raise RuntimeError("boom")
    assert failing.closed


def test_a_transaction_commits_on_success_and_rolls_back_on_an_error(env):
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS connection_probe (n int)")
        cur.execute("INSERT INTO connection_probe VALUES (1)")
    with pytest.raises(RuntimeError), db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO connection_probe VALUES (2)")
        raise RuntimeError("undo it")
    assert conn.closed
    with db.connection(env) as check, check.cursor() as cur:
        cur.execute("SELECT array_agg(n) FROM connection_probe")
        assert db.fetch_one(cur)[0] == [1]


def test_the_suites_session_cluster_runs_with_the_settings_its_fixture_gives_it(conn):
    with conn.cursor() as cur:
        for name, value in SESSION_CLUSTER_SETTINGS.items():
            cur.execute(f"SHOW {name}")
            assert db.fetch_one(cur)[0] == value, name
