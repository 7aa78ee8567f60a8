"""`inv users.remove` takes a person's access away even when their role cannot be dropped."""

from __future__ import annotations

import os

import psycopg2
import pytest
from psycopg2 import sql

from common import db
from ops.console.pages import token_user
from ops.users.logins import add_user, list_users, token_digest
from tests.acceptance.hostile.conftest import assert_refused, run_inv
from tests.integration.users.test_users_and_roles import _login

pytestmark = pytest.mark.integration


def test_a_role_that_owns_a_table_loses_its_token_and_login_and_the_blocker_is_named(env, conn):
    name = f"u{os.getpid()}_owner"
    person = add_user(env, name, "engineer")
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE their_notes (id int)")
        cur.execute(sql.SQL("ALTER TABLE their_notes OWNER TO {}").format(sql.Identifier(name)))
    conn.commit()
    assert token_user(conn, token_digest(person.token)) == {"user_name": name, "role": "engineer"}
    try:
        outcome = run_inv("users.remove", "-e", env.name, name)
        line = assert_refused(outcome)
        assert outcome.returncode == 1
        assert "owns table their_notes" in line, line
        assert "revoked" in line and "REASSIGN OWNED" in line, line
        assert token_user(conn, token_digest(person.token)) is None  # the console refuses it
        conn.commit()
        with pytest.raises(psycopg2.OperationalError):
            _login(env, name, person.password)  # and the database refuses the login
        assert name in {u.name for u in list_users(env)}  # the role stays, for a person to fix
        # once what it owned is handed over, the same command finishes the job
        with conn.cursor() as cur:
            cur.execute("DROP TABLE their_notes")
        conn.commit()
        finished = run_inv("users.remove", "-e", env.name, name)
        assert finished.returncode == 0, finished.stderr
        assert name not in {u.name for u in list_users(env)}
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS their_notes")
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.commit()


def test_a_role_that_owns_a_database_is_named_as_the_blocker(env, conn):
    name = f"u{os.getpid()}_dbowner"
    person = add_user(env, name, "analyst")
    other = f"{env.database.name}_{name}"[:63]
    maintenance = db.connect(env, autocommit=True, dbname="postgres")
    try:
        with maintenance.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(other), sql.Identifier(name)))  # fmt: skip
        outcome = run_inv("users.remove", "-e", env.name, name)
        line = assert_refused(outcome)
        assert f"owns database {other}" in line, line
        assert token_user(conn, token_digest(person.token)) is None
        conn.commit()
    finally:
        with maintenance.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(other)))
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        maintenance.close()
