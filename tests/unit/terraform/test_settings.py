"""The [terraform] section is validated; backend endpoints follow [aws]; providers lay out."""

from __future__ import annotations

import os

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, REPO_ROOT, load_environment
from common.errors import ConfigError
from ops.tf.plugins import NULL_PROVIDER_BINARY, bundled_plugin_dir
from ops.tf.settings import terraform_settings
from tests.support.environments import write_environment

BASE = {
    "database": {"kind": "dsn", "host": "db.example"},
    "lake": {"backend": "s3", "bucket": "lake"},
    "executor": {"kind": "batch"},
    "logs": {"kind": "cloudwatch"},
}
BACKEND = {"bucket": "s", "key": "e/x.tfstate", "region": "eu-west-1", "dynamodb_table": "l"}


@pytest.fixture
def env_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def _env(env_dir, terraform, aws=None):
    sections = {**BASE, "aws": aws or {"region": "eu-west-1"}}
    if terraform is not None:
        sections["terraform"] = terraform
    write_environment(env_dir, "e", sections)
    return load_environment("e")


def test_relative_paths_resolve_from_the_repository_and_backend_values_are_strings(env_dir):
    settings = terraform_settings(
        _env(
            env_dir,
            {
                "stack": "infrastructure/stacks/aws",
                "var_file": "infrastructure/environments/staging.tfvars",
                "backend": {**BACKEND, "encrypt": True},
            },
        )
    )
    assert settings.stack_dir == REPO_ROOT / "infrastructure/stacks/aws"
    assert settings.var_file == REPO_ROOT / "infrastructure/environments/staging.tfvars"
    assert settings.backend["encrypt"] == "true"
    assert "endpoint" not in settings.backend
    assert settings.state_address == "s/e/x.tfstate"


def test_an_aws_endpoint_override_routes_state_and_locks_to_it(env_dir):
    settings = terraform_settings(
        _env(
            env_dir,
            {"stack": "infrastructure/stacks/aws", "backend": BACKEND},
            aws={"region": "us-east-1", "endpoint_url": "http://127.0.0.1:1"},
        )
    )
    assert settings.backend["endpoint"] == "http://127.0.0.1:1"
    assert settings.backend["dynamodb_endpoint"] == "http://127.0.0.1:1"
    assert settings.backend["force_path_style"] == "true"


@pytest.mark.parametrize(
    ("terraform", "message"),
    [
        (None, "not deployed with Terraform"),
        ({"stack": "nowhere", "backend": BACKEND}, "has no main.tf"),
        ({"stack": "infrastructure/stacks/aws"}, r"missing key terraform\.backend$"),
        (
            {"stack": "infrastructure/stacks/aws", "backend": {**BACKEND, "secret_key": "x"}},
            r"terraform\.backend\.secret_key is not allowed",
        ),
        (
            {"stack": "infrastructure/stacks/aws", "backend": {"bucket": "s"}},
            r"missing keys terraform\.backend\.key, terraform\.backend\.region, "
            r"terraform\.backend\.dynamodb_table",
        ),
        ({"stack": "infrastructure/stacks/aws", "backend": BACKEND, "stak": 1}, "unknown key"),
        (
            {"stack": "infrastructure/stacks/aws", "backend": BACKEND, "var_file": "no.tfvars"},
            "does not exist",
        ),
    ],
)
def test_bad_terraform_sections_are_one_line_errors(env_dir, terraform, message):
    # Loading refuses what the file gets wrong; terraform_settings what this machine lacks.
    with pytest.raises(ConfigError, match=message) as caught:
        terraform_settings(_env(env_dir, terraform))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_shipped_environments_have_their_own_state_and_protect_the_data(monkeypatch, name):
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    env = load_environment(name)
    assert (env.database.kind, env.lake.backend, env.executor.kind) == ("dsn", "s3", "batch")
    assert env.logs["kind"] == "cloudwatch"
    settings = terraform_settings(env)
    assert settings.stack_dir == REPO_ROOT / "infrastructure/stacks/aws"
    assert settings.backend["key"] == f"{name}/refinery.tfstate"
    assert settings.var_file.name == f"{name}.tfvars"
    assert any(p.startswith("module.database.") for p in settings.protected_patterns)


def test_bundled_plugin_dir_has_the_registry_layout_terraform_expects(tmp_path):
    root = bundled_plugin_dir(tmp_path / "plugins")
    binary = root / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64" / NULL_PROVIDER_BINARY
    assert binary.is_file() and os.access(binary, os.X_OK)
    assert bundled_plugin_dir(tmp_path / "plugins") == root  # idempotent
