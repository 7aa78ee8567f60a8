"""Which registry an environment's images go to."""

from __future__ import annotations

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import ConfigError
from ops.images.settings import (
    LOCAL_REGISTRY,
    default_base_image,
    default_registry,
    release_images,
)
from tests.support.environments import write_environment


@pytest.fixture
def write_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))

    def write(name, executor="batch", **sections):
        write_environment(
            tmp_path,
            name,
            {
                "database": {"kind": "dsn"},
                "lake": {"backend": "s3", "bucket": "b"},
                "executor": {"kind": executor},
                **sections,
            },
        )
        return load_environment(name)

    return write


def test_configured_registry_wins(write_env):
    env = write_env("staging", images={"registry": "registry.internal:5000/"})
    outputs = {"ecr_repository_url": "1.dkr.ecr.us-east-1.amazonaws.com/refinery"}
    assert default_registry(env, outputs) == "registry.internal:5000"


def test_ecr_url_comes_from_terraform_outputs_in_either_shape(write_env):
    env = write_env("prod")
    url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery"
    assert default_registry(env, {"ecr_repository_url": url}) == url
    wrapped = {"ecr_repository_url": {"value": url, "type": "string", "sensitive": False}}
    assert default_registry(env, wrapped) == url


def test_registry_of_per_image_ecr_repositories_map(write_env):
    env = write_env("staging")
    base = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery"
    urls = {name: f"{base}/{name}" for name in ("base", "foreman", "workers")}
    assert default_registry(env, {"ecr_repository_urls": urls}) == base


def test_batch_environment_without_registry_is_a_clear_error(write_env):
    env = write_env("prod")
    with pytest.raises(ConfigError, match=r"set \[images\] registry in prod.toml"):
        default_registry(env, {})


def test_local_environment_defaults_to_loopback_registry_and_os_image(write_env):
    env = write_env("dev", executor="local")
    assert default_registry(env, {}) == LOCAL_REGISTRY
    assert default_base_image(env) == "refinery-os:bookworm"


@pytest.mark.parametrize(
    ("workers", "salmon"),
    [
        ("127.0.0.1:5000/workers:v1.2.0", "127.0.0.1:5000/salmon:v1.2.0"),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery/workers:abc123",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery/salmon:abc123",
        ),
        ("workers:7", "salmon:7"),
    ],
)
def test_release_images_are_found_beside_the_workers_image(workers, salmon):
    assert release_images(workers) == {"workers": workers, "salmon": salmon}


@pytest.mark.parametrize(
    ("reference", "message"),
    [("127.0.0.1:5000/workers", "has no tag"), ("127.0.0.1:5000/tools:1", "not a workers image")],
)
def test_release_images_refuse_a_reference_that_is_not_a_tagged_workers_image(reference, message):
    with pytest.raises(ConfigError, match=message):
        release_images(reference)
