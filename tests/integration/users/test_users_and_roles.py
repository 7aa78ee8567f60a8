"""Logins per person, and what an analyst's database role really can and cannot do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import psycopg2.errors
import pytest

from common import db
from common.errors import ValidationError
from ops.users.logins import add_user, list_users, remove_user
from tests.integration.lake.conftest import Catalog

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def _login(env, name, password):
    params = db.connection_params(env)
    return psycopg2.connect(
        host=params["host"], port=params["port"], dbname=params["dbname"], user=name,
        password=password, connect_timeout=10,
    )  # fmt: skip


@pytest.fixture
def people(env):
    created: list[str] = []

    def add(role: str) -> tuple[str, str]:
        name = f"u{os.getpid()}_{role}_{len(created)}"
        password = add_user(env, name, role).password
        created.append(name)
        return name, password

    yield add
    for name in created:
        if name in {u.name for u in list_users(env)}:
            remove_user(env, name)


def test_an_analyst_reads_the_catalog_but_cannot_touch_sealed_results(env, conn, people, tmp_path):
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX40", files=1)
    sealed = catalog.analysis([experiment], status="SUCCEEDED", files=1)
    name, password = people("analyst")
    analyst = _login(env, name, password)
    analyst.autocommit = True
    with analyst.cursor() as cur:
        cur.execute("SELECT accession FROM experiments")
        assert cur.fetchall() == [("ERX40",)]
        statements = [
            ("DELETE FROM analyses WHERE id = %s", (sealed,)),
            ("UPDATE analyses SET results_location = 'x' WHERE id = %s", (sealed,)),
            ("DELETE FROM files WHERE analysis_id = %s", (sealed,)),
            ("UPDATE files SET sha256 = 'forged' WHERE analysis_id = %s", (sealed,)),
            ("DELETE FROM analysis_targets WHERE analysis_id = %s", (sealed,)),
            ("DELETE FROM files WHERE experiment_id = %s", (experiment,)),
            ("DELETE FROM experiments WHERE id = %s", (experiment,)),
        ]
        for statement, params in statements:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(statement, params)
        # running an application: a new analysis and a process job are allowed
        cur.execute(
            "INSERT INTO analyses (application, application_version, run_by) "
            "VALUES ('fastq_qc', '1', %s) RETURNING id",
            (name,),
        )
        own = cur.fetchone()[0]
        cur.execute("UPDATE analyses SET status = 'FINISHED' WHERE id = %s", (own,))
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("UPDATE analyses SET status = 'SUCCEEDED' WHERE id = %s", (own,))
        cur.execute("INSERT INTO jobs (kind, payload) VALUES ('process', '{}')")
    analyst.close()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM files WHERE analysis_id = %s AND sha256 <> 'forged'", (sealed,)
        )
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT status FROM analyses WHERE id = %s", (sealed,))
        assert cur.fetchone()[0] == "SUCCEEDED"


def test_an_admin_may_change_sealed_results(env, conn, people, tmp_path):
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX41", files=1)
    sealed = catalog.analysis([experiment], status="SUCCEEDED", files=1)
    name, password = people("admin")
    admin = _login(env, name, password)
    with admin.cursor() as cur:
        cur.execute("UPDATE analyses SET results_location = 'moved' WHERE id = %s", (sealed,))
        assert cur.rowcount == 1
    admin.rollback()
    admin.close()


def test_password_is_stored_only_as_scram_and_shown_once(env, conn):
    name = f"u{os.getpid()}_cli"
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "users.add", "-e", env.name, name, "--role", "engineer"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    password = lines[lines.index(next(x for x in lines if "Database password" in x)) + 1]
    with conn.cursor() as cur:
        cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,))
        stored = cur.fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$4096:") and password not in stored
    _login(env, name, password).close()  # the verifier we computed really accepts it
    listed = subprocess.run(
        [sys.executable, "-m", "invoke", "users.list", "-e", env.name, "--json"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert password not in listed.stdout and f'"name": "{name}"' in listed.stdout
    remove_user(env, name)
    with pytest.raises(psycopg2.OperationalError):
        _login(env, name, password)


def test_bad_user_input_is_refused(env, people):
    with pytest.raises(ValidationError, match="unknown role"):
        add_user(env, "someone", "wizard")
    with pytest.raises(ValidationError, match="invalid user name"):
        add_user(env, "Robert'); DROP TABLE files;--", "analyst")
    with pytest.raises(ValidationError, match="not a Refinery user"):
        remove_user(env, "postgres")
    name, _ = people("analyst")
    with pytest.raises(ValidationError, match="already exists"):
        add_user(env, name, "analyst")


def test_tools_run_with_an_analysts_login_refuse_seal_force_and_delete(
    env, conn, people, make_env, tmp_path, monkeypatch
):
    from ops.analyses.run import request_run
    from ops.analyses.seal import PermissionRefused, seal_finished_analyses
    from ops.runbooks.delete_experiment import DeletionRefused, delete_experiment

    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX42", files=1)
    catalog.analysis([experiment], status="SUCCEEDED", files=1)
    name, password = people("analyst")
    params = db.connection_params(env)
    monkeypatch.setenv("REFINERY_TEST_ANALYST_PASSWORD", password)
    as_analyst = make_env(
        "as-analyst",
        database={
            "kind": "dsn", "name": env.database.name, "host": params["host"],
            "port": params["port"], "user": name,
            "password_env": "REFINERY_TEST_ANALYST_PASSWORD", "sslmode": "disable",
        },
        lake={"root": env.lake.root},
    )  # fmt: skip
    with pytest.raises(PermissionRefused):
        seal_finished_analyses(as_analyst)
    with pytest.raises(DeletionRefused, match="only an admin"):
        delete_experiment(as_analyst, "ERX42")
    with pytest.raises(ValidationError, match="only an admin"):
        request_run(as_analyst, "fastq_qc", [experiment], run_by=name, force=True)
    job = request_run(as_analyst, "no_op", [experiment], run_by=name)  # analysts run apps
    assert job.job_id > 0


def test_api_token_is_shown_once_stored_as_its_hash_and_rotated(env, conn):
    import hashlib

    name = f"u{os.getpid()}_tok"

    def inv(*args):
        result = subprocess.run(
            [sys.executable, "-m", "invoke", *args], cwd=REPO, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()

    first = inv("users.add", "-e", env.name, name, "--role", "analyst")[-1]
    assert first.startswith("rfy_") and len(first) > 40

    def stored():
        with conn.cursor() as cur:
            cur.execute("SELECT role, token_sha256 FROM api_tokens WHERE user_name = %s", (name,))
            row = cur.fetchone()
        conn.commit()
        return row

    assert stored() == ("analyst", hashlib.sha256(first.encode()).hexdigest())
    second = inv("users.token", "-e", env.name, name)[-1]
    assert second.startswith("rfy_") and second != first
    assert stored() == ("analyst", hashlib.sha256(second.encode()).hexdigest())
    remove_user(env, name)
    assert stored() is None
