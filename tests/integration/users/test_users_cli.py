"""`inv users.add | users.list | users.remove` in real processes: a login added is listed,
and removed it is gone with its console token."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.inv import run_inv

pytestmark = pytest.mark.integration


def test_a_person_removed_through_inv_loses_login_and_token(env, conn):
    name = f"u{os.getpid()}_gone"
    added = run_inv("users.add", "-e", env.name, name, "--role", "engineer")
    assert added.returncode == 0, added.stderr
    listed = json.loads(run_inv("users.list", "-e", env.name, "--json").stdout)
    assert name in {user["name"] for user in listed}

    removed = run_inv("users.remove", "-e", env.name, name)
    assert removed.returncode == 0, removed.stderr
    listed = json.loads(run_inv("users.list", "-e", env.name, "--json").stdout)
    assert name not in {user["name"] for user in listed}
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM api_tokens WHERE user_name = %s", (name,))
        tokens = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (name,))
        roles = cur.fetchone()[0]
    conn.commit()
    assert (tokens, roles) == (0, 0)
