"""The Docker engine, registry and base OS image fixtures, on the sandbox's product code.

`ops/sandbox/docker_engine.py` starts them (the engine on the default socket, reused when one
answers; the registry on loopback); here they are session fixtures, and a component that
cannot start fails them with the reason. Everything started here is stopped by pid at the end
of the session; the engine's data-root cache stays (the base OS image is built once per
machine). The fixtures are imported by `tests/conftest.py`, so one engine and one registry
serve every test layer in a session.

Sessions beside this one (the suite's other xdist group of engine tests, another checkout's
suite) may use the same engine: each holds a shared lease on it for its whole run, and the
session that started dockerd stops it only once it holds the lease alone. Finding or starting
the engine, and stopping it, happen under one exclusive lock, so a session never takes the
lease on an engine that is being stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from ops.images.base_os import DEFAULT_BASE_OS_IMAGE, ensure_base_os_image
from ops.sandbox.docker_engine import (
    DockerEngine,
    DockerRegistry,
    docker_cache_dir,
    start_docker_engine,
    start_registry,
    stop_docker_engine,
)
from ops.sandbox.processes import SandboxError, stop_process

__all__ = ["DockerEngine", "DockerRegistry", "base_os_image", "docker_engine", "docker_registry"]


def _lock_file(name: str) -> IO[str]:
    """A lock file beside the engine's data root: the same for every session on the machine."""
    path = Path(docker_cache_dir()).parent / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a")  # held for the session; closed at its end


@pytest.fixture(scope="session")
def docker_engine(session_dirs) -> Iterator[DockerEngine]:
    """A running Docker engine on the default socket (started here unless one answers)."""
    lease, starting = _lock_file("engine.lease"), _lock_file("engine.start")
    try:
        fcntl.flock(starting, fcntl.LOCK_EX)
        try:
            engine = start_docker_engine(session_dirs["logs"])
            fcntl.flock(lease, fcntl.LOCK_SH)
        finally:
            fcntl.flock(starting, fcntl.LOCK_UN)
    except SandboxError as exc:
        pytest.fail(str(exc))
    yield engine
    if engine.process is not None:
        # Our private data root: drop the session's stopped containers (moto's Batch jobs
        # leave theirs behind) so the cache holds only images.
        with contextlib.suppress(Exception):
            engine.client().prune_containers()
        fcntl.flock(starting, fcntl.LOCK_EX)  # no session takes the lease meanwhile
        fcntl.flock(lease, fcntl.LOCK_EX)  # every other session has let go of the engine
        stop_docker_engine(engine)
    lease.close()
    starting.close()


@pytest.fixture(scope="session")
def docker_registry(session_dirs, tmp_path_factory) -> Iterator[DockerRegistry]:
    """A registry on 127.0.0.1:<port> with storage in a session temp folder."""
    try:
        registry = start_registry(tmp_path_factory.mktemp("registry"), session_dirs["logs"])
    except SandboxError as exc:
        pytest.fail(str(exc))
    yield registry
    stop_process(registry.process)


@pytest.fixture(scope="session")
def base_os_image(docker_engine) -> str:
    """The debootstrapped Debian base image (built once, cached in the engine)."""
    client = docker_engine.client()
    try:
        ensure_base_os_image(client, DEFAULT_BASE_OS_IMAGE, work_dir=docker_cache_dir().parent)
    except Exception as exc:
        pytest.fail(f"could not build the base OS image {DEFAULT_BASE_OS_IMAGE}: {exc}")
    finally:
        client.close()
    return DEFAULT_BASE_OS_IMAGE
