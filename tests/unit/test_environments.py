"""Environment files are validated on load: unknown names and bad keys are one-line errors."""

from __future__ import annotations

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import ConfigError
from tests.support.environments import write_environment


@pytest.fixture
def env_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def test_the_shipped_local_environment_loads(monkeypatch):
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    env = load_environment("local")
    assert env.database.kind == "embedded"
    assert env.lake.backend == "filesystem"


def test_unknown_environment_names_the_known_ones(env_dir):
    write_environment(env_dir, "alpha", {"database": {"kind": "embedded"}})
    with pytest.raises(ConfigError, match=r"unknown environment 'nope' \(known: alpha\)"):
        load_environment("nope")


def test_missing_section_is_named(env_dir):
    write_environment(env_dir, "broken", {"database": {"kind": "embedded"}})
    with pytest.raises(ConfigError, match=r"missing required section \[lake\]"):
        load_environment("broken")


def test_unknown_key_is_named(env_dir):
    write_environment(
        env_dir,
        "typo",
        {
            "database": {"kind": "embedded", "nmae": "x"},
            "lake": {"backend": "filesystem", "root": "l"},
            "executor": {"kind": "local"},
        },
    )
    with pytest.raises(ConfigError, match=r"unknown key database\.nmae"):
        load_environment("typo")


@pytest.mark.parametrize("name", ["../etc", "UPPER", ""])
def test_malformed_names_are_refused(env_dir, name):
    with pytest.raises(ConfigError, match="invalid environment name"):
        load_environment(name)


def _dsn_environment(env_dir, host: str):
    write_environment(
        env_dir,
        "cloud",
        {
            "database": {"kind": "dsn", "host": host, "password_env": "CLOUD_DB_PASSWORD"},
            "lake": {"backend": "filesystem", "root": "l"},
            "executor": {"kind": "local"},
        },
    )
    return load_environment("cloud")


def test_a_host_from_a_terraform_output_is_read_from_the_last_outputs(
    env_dir, tmp_path, monkeypatch
):
    from common import db
    from common.environments import STATE_DIR_VARIABLE, TERRAFORM_OUTPUTS_FILE

    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "state"))
    monkeypatch.setenv("CLOUD_DB_PASSWORD", "pw")
    env = _dsn_environment(env_dir, "terraform:database_endpoint")
    with pytest.raises(ConfigError, match=r"run `inv tf\.output -e cloud`"):
        db.connection_params(env)
    (env.state_dir / TERRAFORM_OUTPUTS_FILE).write_text('{"database_endpoint": "db.example"}')
    assert db.connection_params(env)["host"] == "db.example"
    (env.state_dir / TERRAFORM_OUTPUTS_FILE).write_text('{"database_endpoint": 5432}')
    with pytest.raises(ConfigError, match="is not a host name"):
        db.connection_params(env)


def test_a_plain_host_is_taken_as_written(env_dir, monkeypatch):
    from common import db

    monkeypatch.setenv("CLOUD_DB_PASSWORD", "pw")
    assert db.connection_params(_dsn_environment(env_dir, "db.internal"))["host"] == "db.internal"


def _deployed(env_dir):
    write_environment(
        env_dir,
        "staging",
        {
            "database": {"kind": "dsn", "host": "terraform:database_endpoint"},
            "lake": {"backend": "s3", "bucket": "from-the-file"},
            "executor": {"kind": "batch"},
            "logs": {"kind": "cloudwatch", "group": "/from/the/file"},
        },
    )
    write_environment(
        env_dir,
        "prod",
        {
            "database": {"kind": "dsn", "host": "prod.db"},
            "lake": {"backend": "s3", "bucket": "prod-lake"},
            "executor": {"kind": "batch"},
        },
    )


DEPLOYED = {
    "REFINERY_DATABASE_HOST": "db.internal",
    "REFINERY_DATABASE_PORT": "6543",
    "REFINERY_DATABASE_NAME": "refinery2",
    "REFINERY_DATABASE_USER": "worker",
    "REFINERY_DATABASE_PASSWORD_SECRET": "arn:aws:secretsmanager:eu-west-1:1:secret:db",
    "REFINERY_LAKE_BUCKET": "stack-lake",
    "REFINERY_LOG_GROUP": "/stack/logs",
}


def test_a_started_process_takes_the_stack_settings_it_was_given(env_dir, monkeypatch):
    """A worker container needs nothing from the deploying machine: what only the stack
    knows comes from the variables its job definition set."""
    _deployed(env_dir)
    monkeypatch.setenv("REFINERY_ENVIRONMENT", "staging")
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
    env = load_environment("staging")
    assert (env.database.host, env.database.port) == ("db.internal", 6543)
    assert (env.database.name, env.database.user) == ("refinery2", "worker")
    assert env.database.password_secret == DEPLOYED["REFINERY_DATABASE_PASSWORD_SECRET"]
    assert env.lake.bucket == "stack-lake"
    assert env.logs["group"] == "/stack/logs"
    # Another environment loaded by the same process keeps its own file's settings.
    other = load_environment("prod")
    assert (other.database.host, other.lake.bucket) == ("prod.db", "prod-lake")


def test_stack_settings_apply_only_to_the_environment_the_process_was_started_for(
    env_dir, monkeypatch
):
    _deployed(env_dir)
    monkeypatch.delenv("REFINERY_ENVIRONMENT", raising=False)
    monkeypatch.setenv("REFINERY_DATABASE_HOST", "db.internal")
    env = load_environment("staging")
    assert env.database.host == "terraform:database_endpoint"
    monkeypatch.setenv("REFINERY_ENVIRONMENT", "staging")
    monkeypatch.setenv("REFINERY_DATABASE_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="REFINERY_DATABASE_PORT must be a port number"):
        load_environment("staging")
