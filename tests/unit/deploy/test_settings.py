from __future__ import annotations

import pytest

from common.environments import load_environment
from common.errors import ConfigError
from common.settings.deployment import DeploySection
from ops.deploy.settings import lock_table
from tests.support.environments import write_environment

BASE = {
    "database": {"kind": "embedded"},
    "lake": {"backend": "filesystem", "root": "lake"},
    "executor": {"kind": "null"},
    "aws": {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:1"},
}


def terraform(**backend):
    """A complete [terraform] section (the loader refuses partial ones) with `backend` keys."""
    complete = {"bucket": "state", "key": "staging/x.tfstate", "region": "eu-west-1"}
    return {"stack": "infrastructure/stacks/aws", "backend": {**complete, **backend}}


@pytest.fixture
def write(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_ENVIRONMENTS_DIR", str(tmp_path))

    def factory(**sections):
        write_environment(tmp_path, "staging", {**BASE, **sections})
        return load_environment("staging")

    return factory


def test_lock_table_falls_back_to_the_terraform_backend_table(write):
    backend = {"dynamodb_table": "tf-locks", "region": "us-west-2"}
    settings = lock_table(write(terraform=terraform(**backend)))
    assert (settings.lock_table, settings.region) == ("tf-locks", "us-west-2")
    assert settings.endpoint_url == "http://127.0.0.1:1"
    # Without a Terraform backend the region is [aws]'s.
    settings = lock_table(write(deploy={"lock_table": "tf-locks2"}))
    assert (settings.lock_table, settings.region) == ("tf-locks2", "eu-west-1")  # [aws] region


def test_registry_and_base_image_in_deploy_are_refused_pointing_at_images(write):
    with pytest.raises(
        ConfigError, match=r"deploy\.registry is no longer read; move it to \[images\]"
    ):
        lock_table(write(deploy={"lock_table": "d", "registry": "r.example"}))
    with pytest.raises(ConfigError, match=r"deploy\.base_image .* \[images\] base_image"):
        lock_table(write(deploy={"lock_table": "d", "base_image": "os"}))


def test_deploy_section_wins_and_is_validated(write):
    env = write(
        deploy={"lock_table": "d", "lease_seconds": 60},
        terraform=terraform(dynamodb_table="t"),
    )
    assert lock_table(env).lock_table == "d" and lock_table(env).lease_seconds == 60
    with pytest.raises(ConfigError, match=r"unknown key deploy\.lock_tabel"):
        lock_table(write(deploy={"lock_tabel": "d"}))
    with pytest.raises(ConfigError, match="lease_seconds must be a positive number"):
        lock_table(write(deploy={"lock_table": "d", "lease_seconds": -1}))


def test_no_lock_table_is_a_one_line_error_saying_where_to_set_it(write):
    with pytest.raises(
        ConfigError, match=r"set deploy\.lock_table \(or terraform\.backend\.dynamodb_table\)"
    ):
        lock_table(write())


def test_a_rehearsal_is_required_only_when_asked_and_from_staging_by_default(write):
    assert DeploySection.for_environment(write()).require_rehearsal is False
    settings = DeploySection.for_environment(write(deploy={"require_rehearsal": True}))
    assert (settings.require_rehearsal, settings.rehearsal_environment) == (True, "staging")
    with pytest.raises(ConfigError, match=r"deploy\.require_rehearsal must be true or false"):
        DeploySection.for_environment(write(deploy={"require_rehearsal": "yes"}))
