"""A real Docker engine and a real registry on loopback, for the sandbox and the test suite.

The engine listens on the DEFAULT socket (`/var/run/docker.sock`): the AWS emulator's Batch
runs job containers through the docker SDK's `from_env()` inside the emulator process, so
only the default socket reaches it without configuration. When an engine already answers
there, it is used and left alone; otherwise `dockerd --bridge=none --iptables=false` is
started (containers run with host networking only: nothing leaves loopback) with its data
root in a persistent cache folder, so the locally made base OS image survives between runs.
dockerd needs root: a user with passwordless sudo starts it through `sudo -n`, with its socket
in that user's group (the user may signal its own sudo, which passes the signal on).
The registry is Debian's `docker-registry serve` on 127.0.0.1 with storage in a given folder.
"""

from __future__ import annotations

import contextlib
import enum
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from common import shell
from common.environments import user_cache_root
from common.errors import CommandError
from ops.sandbox.processes import SandboxError, free_port, spawn, stop_process, wait_for_port

DEFAULT_SOCKET = Path("/var/run/docker.sock")
DEFAULT_BASE_URL = f"unix://{DEFAULT_SOCKET}"
DATA_ROOT_VARIABLE = "REFINERY_DOCKER_DATA_ROOT"


def docker_cache_dir() -> Path:
    """Persistent data root in the user's cache, outside any clone.

    The locally made base image takes minutes to build; kept here, it is built once per
    machine rather than once per clone (CI tests a fresh clone every time).
    """
    return Path(os.environ.get(DATA_ROOT_VARIABLE, user_cache_root() / "docker"))


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


def engine_answers(base_url: str = DEFAULT_BASE_URL) -> bool:
    try:
        docker.APIClient(base_url=base_url, version="auto", timeout=3).ping()
    except Exception:
        return False
    return True


class SocketState(enum.Enum):
    ABSENT = "absent"  # no socket file
    STALE = "stale"  # a socket file nothing listens on
    LISTENING = "listening"  # something accepts connections on it
    FORBIDDEN = "forbidden"  # something may listen, but this user may not connect


def socket_state(path: Path) -> SocketState:
    """What is at a unix socket's path, as this user sees it."""
    if not path.is_socket():
        return SocketState.ABSENT
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(3)
        try:
            probe.connect(str(path))
        except PermissionError:
            return SocketState.FORBIDDEN
        except OSError:  # refused, or not answering: nothing serves it
            return SocketState.STALE
    return SocketState.LISTENING


def _forbidden_engine_message(path: Path) -> str:
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(path.stat().st_gid).gr_name
    return (
        f"a Docker engine's socket {path} belongs to group {group}, which {user} is not in: "
        f"add {user} to it (sudo usermod -aG {group} {user}, then log in again), or stop "
        "that engine; a second engine is not started over it"
    )


def start_docker_engine(log_dir: Path) -> DockerEngine:
    """The engine on the default socket: the one that answers, or a dockerd started now."""
    if engine_answers(DEFAULT_BASE_URL):
        return DockerEngine(DEFAULT_BASE_URL, None)
    # An engine this user may not reach looks like none at all to the client; starting
    # another over its socket (as root, through sudo) would take the socket from it.
    if socket_state(DEFAULT_SOCKET) is SocketState.FORBIDDEN:
        raise SandboxError(_forbidden_engine_message(DEFAULT_SOCKET))
    dockerd = shell.find_program("dockerd")
    if dockerd is None:
        raise SandboxError("dockerd is not installed: run scripts/system-packages.sh (docker.io)")
    # dockerd needs root by nature: a user with passwordless sudo starts it through `sudo -n`,
    # its socket in the user's own group so that user's clients reach it.
    try:
        as_root = shell.as_root([dockerd])
    except CommandError as exc:
        raise SandboxError(str(exc)) from None
    owner_group = [] if os.geteuid() == 0 else [f"--group={grp.getgrgid(os.getgid()).gr_name}"]
    if DEFAULT_SOCKET.is_socket():
        with contextlib.suppress(PermissionError):  # not root: dockerd replaces it itself
            DEFAULT_SOCKET.unlink()  # stale: nothing answered on it
    data_root = docker_cache_dir()
    data_root.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "dockerd.log"
    process = spawn(
        [
            *as_root,
            *owner_group,
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            # The emulator adds host.docker.internal:host-gateway to job containers; with no
            # bridge the engine must be told which address that is.
            "--host-gateway-ip=127.0.0.1",
            f"--host={DEFAULT_BASE_URL}",
            f"--data-root={data_root}",
            # Its own pid file, beside (never over) the sandbox's record of the process it
            # started: through sudo that record is sudo's, and this file is root's.
            f"--pidfile={log_dir / 'dockerd-engine.pid'}",
        ],
        log_file=log_path,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise SandboxError(f"dockerd exited with {process.returncode}: {' | '.join(tail)}")
        if engine_answers(DEFAULT_BASE_URL):
            return DockerEngine(DEFAULT_BASE_URL, process)
        time.sleep(0.3)
    stop_docker_engine(DockerEngine(DEFAULT_BASE_URL, process))
    raise SandboxError(f"dockerd did not answer on {DEFAULT_SOCKET} within 60 s; see {log_path}")


def stop_docker_engine(engine: DockerEngine) -> None:
    """SIGTERM dockerd alone (it stops its containers and containerd), then the group."""
    process = engine.process
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(30)
    stop_process(process)


def registry_config(storage_dir: Path, port: int) -> str:
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {storage_dir}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )


def start_registry(storage_dir: Path, log_dir: Path, *, port: int | None = None) -> DockerRegistry:
    """`docker-registry serve` on 127.0.0.1:`port` (a free one by default)."""
    program = shutil.which("docker-registry")
    if program is None:
        raise SandboxError("docker-registry is not installed: run scripts/system-packages.sh")
    port = port or free_port()
    storage_dir.mkdir(parents=True, exist_ok=True)
    config = log_dir / "registry.yml"
    config.write_text(registry_config(storage_dir, port))
    log_path = log_dir / "registry.log"
    process = spawn([program, "serve", str(config)], log_file=log_path)
    try:
        wait_for_port(port, timeout=30, process=process)
    except SandboxError as exc:
        stop_process(process)
        raise SandboxError(f"docker-registry did not start ({exc}); see {log_path}") from None
    return DockerRegistry(f"127.0.0.1:{port}", process)
