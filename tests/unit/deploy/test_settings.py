from __future__ import annotations

import pytest

from foreman.environments import load_environment
from foreman.errors import ConfigError
from ops.deploy.settings import deploy_settings
from tests.support.environments import write_environment

BASE = {
    "database": {"kind": "embedded"},
    "lake": {"backend": "filesystem", "root": "lake"},
    "executor": {"kind": "null"},
    "aws": {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:1"},
}


@pytest.fixture
def write(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_ENVIRONMENTS_DIR", str(tmp_path))

    def factory(**sections):
        write_environment(tmp_path, "staging", {**BASE, **sections})
        return load_environment("staging")

    return factory


def test_lock_table_falls_back_to_the_terraform_backend_table(write):
    settings = deploy_settings(write(terraform={"lock_table": "tf-locks"}))
    assert (settings.lock_table, settings.region) == ("tf-locks", "eu-west-1")
    assert settings.endpoint_url == "http://127.0.0.1:1"
    settings = deploy_settings(
        write(terraform={"dynamodb_table": "tf-locks2", "region": "us-west-2"})
    )
    assert (settings.lock_table, settings.region) == ("tf-locks2", "us-west-2")


def test_deploy_section_wins_and_is_validated(write):
    env = write(deploy={"lock_table": "d", "lease_seconds": 60}, terraform={"lock_table": "t"})
    assert deploy_settings(env).lock_table == "d" and deploy_settings(env).lease_seconds == 60
    with pytest.raises(ConfigError, match=r"unknown key deploy\.lock_tabel"):
        deploy_settings(write(deploy={"lock_tabel": "d"}))
    with pytest.raises(ConfigError, match="lease_seconds must be a positive number"):
        deploy_settings(write(deploy={"lock_table": "d", "lease_seconds": -1}))


def test_no_lock_table_is_a_one_line_error_saying_where_to_set_it(write):
    with pytest.raises(ConfigError, match=r"set deploy\.lock_table \(or terraform\.lock_table\)"):
        deploy_settings(write())
