"""The database password from Secrets Manager (served by moto): RDS's JSON or a plain string,
read by ARN when connecting, and errors that name the secret but never a value."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from common import db
from common.errors import ConfigError

pytestmark = pytest.mark.integration


@pytest.fixture
def secret_env(make_env, moto_server, monkeypatch):
    monkeypatch.delenv("REFINERY_DB_PASSWORD", raising=False)
    cluster = db.embedded_cluster().address()
    database = make_env("secretbase").database.name

    def factory(secret_string: str | None):
        secrets = boto3.client("secretsmanager")
        name = f"refinery-db-{uuid.uuid4().hex[:8]}"
        arn = (
            secrets.create_secret(Name=name, SecretString=secret_string)["ARN"]
            if secret_string is not None
            else f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
        )
        env = make_env(
            f"secret{uuid.uuid4().hex[:6]}",
            database={
                "kind": "dsn",
                "host": cluster.host,
                "port": cluster.port,
                "user": cluster.user,
                "name": database,
                "password_secret": arn,
                "sslmode": "disable",
            },
            aws={"endpoint_url": moto_server.endpoint_url},
        )
        return env, cluster.password

    return factory


@pytest.mark.parametrize("shape", ["rds-json", "plain"])
def test_a_worker_connects_with_the_password_read_from_the_secret(secret_env, shape):
    password = db.embedded_cluster().address().password
    value = json.dumps({"username": "u", "password": password}) if shape == "rds-json" else password
    env, _ = secret_env(value)
    conn = db.connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone()[0] == env.database.name
    finally:
        conn.close()


def test_a_missing_or_malformed_secret_is_one_line_naming_it_not_its_value(secret_env):
    env, _ = secret_env(None)
    with pytest.raises(ConfigError, match="cannot read the database password from secret arn:"):
        db.connect(env)
    env, _ = secret_env(json.dumps({"user": "u", "pass": "hunter2-not-shown"}))
    with pytest.raises(ConfigError, match="JSON without a 'password' key") as caught:
        db.connect(env)
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)
