"""A real Docker engine, a real registry and a locally made base image, for tests.

The engine listens on the DEFAULT socket (`/var/run/docker.sock`): moto's Batch runs job
containers through the docker SDK's `from_env()` inside the moto server process, which may
have been started before this fixture, so only the default socket reaches it without
configuration. When an engine already answers there, it is used and left alone; otherwise
`dockerd --bridge=none --iptables=false` is started as a child process (containers run with
host networking only) with its data root in a persistent cache folder, so the base image
survives between sessions. The registry (`docker-registry serve`) listens on loopback with
storage in the session's temp folder. Everything started here is stopped by pid at the end
of the session; the data-root cache stays.

The fixtures are imported by `tests/conftest.py`, so one engine and one registry serve every
test layer in a session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from ops.images.base_os import DEFAULT_BASE_OS_IMAGE, ensure_base_os_image
from tests.support.services import free_port, stop_process, wait_for_port

DEFAULT_SOCKET = Path("/var/run/docker.sock")
DATA_ROOT_VARIABLE = "REFINERY_DOCKER_DATA_ROOT"


def docker_cache_dir() -> Path:
    """Persistent data root in the user's cache, outside any clone.

    The locally made base image takes minutes to build; kept here, it is built once per
    machine rather than once per clone (CI tests a fresh clone every time).
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get(DATA_ROOT_VARIABLE, cache / "refinery" / "docker"))


@dataclass
class DockerEngine:
    """A Docker engine reachable on `base_url`; `process` is None if we did not start it."""

    base_url: str
    process: subprocess.Popen | None

    def client(self) -> docker.APIClient:
        return docker.APIClient(base_url=self.base_url, version="auto", timeout=600)


@dataclass
class DockerRegistry:
    """A Docker registry on loopback: push to `{address}/name:tag`."""

    address: str
    process: subprocess.Popen


def _engine_answers(base_url: str) -> bool:
    try:
        docker.APIClient(base_url=base_url, version="auto", timeout=3).ping()
    except Exception:
        return False
    return True


def start_docker_engine(log_dir: Path) -> DockerEngine:
    base_url = f"unix://{DEFAULT_SOCKET}"
    if _engine_answers(base_url):
        return DockerEngine(base_url, None)
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.fail("dockerd is not installed: run scripts/system-packages.sh (docker.io)")
    if os.geteuid() != 0:
        pytest.fail("dockerd must run as root to start containers; run the tests as root")
    if DEFAULT_SOCKET.is_socket():
        DEFAULT_SOCKET.unlink()  # stale: nothing answered on it
    data_root = docker_cache_dir()
    data_root.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "dockerd.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the daemon
    process = subprocess.Popen(
        [
            dockerd,
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            # moto adds host.docker.internal:host-gateway to job containers; with no bridge
            # the engine must be told which address that is.
            "--host-gateway-ip=127.0.0.1",
            f"--host={base_url}",
            f"--data-root={data_root}",
            f"--pidfile={log_dir / 'dockerd.pid'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            pytest.fail(f"dockerd exited with {process.returncode}: {' | '.join(tail)}")
        if _engine_answers(base_url):
            return DockerEngine(base_url, process)
        time.sleep(0.3)
    stop_docker_engine(DockerEngine(base_url, process))
    pytest.fail(f"dockerd did not answer on {DEFAULT_SOCKET} within 60 s; see {log_path}")


def stop_docker_engine(engine: DockerEngine) -> None:
    """SIGTERM dockerd alone (it stops its containers and containerd), then the group."""
    process = engine.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(30)
    stop_process(process)


def start_registry(storage_dir: Path, log_dir: Path) -> DockerRegistry:
    program = shutil.which("docker-registry")
    if program is None:
        pytest.fail("docker-registry is not installed: run scripts/system-packages.sh")
    port = free_port()
    storage_dir.mkdir(parents=True, exist_ok=True)
    config = log_dir / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {storage_dir}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log_path = log_dir / "registry.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the registry
    process = subprocess.Popen(
        [program, "serve", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
    except RuntimeError as exc:
        stop_process(process)
        pytest.fail(f"docker-registry did not start ({exc}); see {log_path}")
    return DockerRegistry(f"127.0.0.1:{port}", process)


@pytest.fixture(scope="session")
def docker_engine(session_dirs) -> Iterator[DockerEngine]:
    """A running Docker engine on the default socket (started here unless one answers)."""
    engine = start_docker_engine(session_dirs["logs"])
    yield engine
    if engine.process is not None:
        # Our private data root: drop the session's stopped containers (moto's Batch jobs
        # leave theirs behind) so the cache holds only images.
        with contextlib.suppress(Exception):
            engine.client().prune_containers()
    stop_docker_engine(engine)


@pytest.fixture(scope="session")
def docker_registry(session_dirs, tmp_path_factory) -> Iterator[DockerRegistry]:
    """A registry on 127.0.0.1:<port> with storage in a session temp folder."""
    registry = start_registry(tmp_path_factory.mktemp("registry"), session_dirs["logs"])
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
