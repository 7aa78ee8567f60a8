"""ECR credentials come from GetAuthorizationToken (moto's ECR here); loopback needs none."""

from __future__ import annotations

import pytest

from ops.images.auth import ecr_registry, registry_auth

pytestmark = pytest.mark.integration


def test_ecr_push_gets_a_token_from_the_ecr_api(moto_server):
    reference = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery/workers:1.0"
    assert ecr_registry(reference) == ("123456789012", "eu-west-1")
    auth = registry_auth(reference, endpoint_url=moto_server.endpoint_url)
    assert auth is not None
    assert auth["username"] == "AWS"
    assert auth["password"] and auth["password"] != "AWS"
    assert auth["serveraddress"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def test_loopback_registry_needs_no_credentials():
    assert registry_auth("127.0.0.1:5000/workers:1.0") is None
    assert ecr_registry("registry.example/x:1") is None
