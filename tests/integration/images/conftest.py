"""Docker fixtures for the images tests: engine, registry, base OS image, built images."""

from __future__ import annotations

import pytest

from ops.images import build_images
from tests.support.docker_services import (  # noqa: F401 - fixtures
    base_os_image,
    docker_engine,
    docker_registry,
)

VERSION = "0.0.0-test"
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="session")
def built_images(docker_engine, docker_registry, base_os_image):  # noqa: F811
    """base, foreman and workers built once per session for the session's registry."""
    client = docker_engine.client()
    try:
        images = build_images(
            registry=docker_registry.address,
            version=VERSION,
            git_sha=GIT_SHA,
            base_image=base_os_image,
            client=client,
        )
    finally:
        client.close()
    return {image.name: image for image in images}
