"""Fixtures: a state bucket and lock table in moto, and null-stack environments using them."""

from __future__ import annotations

import pytest

from tests.support.terraform import bootstrap_backend, make_terraform_env


@pytest.fixture
def state_backend(moto_server, monkeypatch):
    """A fresh state bucket and lock table, bootstrapped with boto3 in the moto server."""
    # Terraform must never look for the EC2 metadata service (only loopback is allowed).
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return bootstrap_backend(moto_server.endpoint_url)


@pytest.fixture
def make_tf_env(session_dirs, state_backend, tmp_path):
    """Factory: `make_tf_env(protected=(...))` -> TerraformTestEnv on the null stack."""

    def factory(protected: tuple[str, ...] = ()):
        return make_terraform_env(
            session_dirs["environments"], tmp_path, state_backend, protected=protected
        )

    return factory
