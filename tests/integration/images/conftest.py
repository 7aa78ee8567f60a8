"""Images built once per session (engine, registry and base OS image: tests/conftest.py)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator

import pytest

from ops.images.build import build_images
from tests.support.batch_cloud import CloudEnvironment, CloudFactory, make_cloud_environment
from tests.support.services import stop_process

VERSION = "0.0.0-test"
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
CACHE_REPOSITORY = "refinery-test-cache"


@pytest.fixture(scope="session")
def built_images(docker_engine, docker_registry, base_os_image):
    """base, foreman, workers, salmon and affy built once per session for the session's registry."""
    client = docker_engine.client()
    images = build_images(
        registry=docker_registry.address,
        version=VERSION,
        git_sha=GIT_SHA,
        base_image=base_os_image,
        client=client,
    )
    yield {image.name: image for image in images}
    # The registry's port changes every session: move the images to one stable tag so the
    # engine's cache keeps them (and their layers) without piling up per-port tags. Untagged
    # images are not pruned: the base's install stage is one, and it is the slow layer.
    # Housekeeping only (nothing is asserted here): an engine that is already gone, e.g. one
    # shared with another test session that stopped it, must not turn into a test error.
    with contextlib.suppress(Exception):
        for image in images:
            client.tag(image.image_id, f"{CACHE_REPOSITORY}/{image.name}", "latest", force=True)
            client.remove_image(image.reference, noprune=True)
    client.close()


@pytest.fixture
def make_cloud(make_env, moto_server, session_dirs, built_images, tmp_path) -> CloudFactory:
    """Factory: (name, endpoint_url=, application=, overrides=) -> a CloudEnvironment on a
    fresh migrated database, with its job definitions registered (tests/support/batch_cloud)."""

    def factory(name: str, *, endpoint_url: str, application: str,
                overrides: dict | None = None) -> CloudEnvironment:  # fmt: skip
        return make_cloud_environment(
            name,
            endpoint_url=endpoint_url,
            application=application,
            environments_dir=session_dirs["environments"],
            database=make_env(name).database.name,
            workers_image=built_images["workers"].reference,
            version=VERSION,
            workdir=tmp_path,
            overrides=overrides,
        )

    return factory


@pytest.fixture
def foreman_process() -> Iterator[Callable[[subprocess.Popen], None]]:
    """Register a started foreman; it is stopped (by pid) when the test ends."""
    started: list[subprocess.Popen] = []
    yield started.append
    for process in started:
        stop_process(process, timeout=20)
