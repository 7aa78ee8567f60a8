"""What the sandbox finds on the Docker engine's socket before it starts an engine of its own.

Real unix sockets in a temporary folder. A socket this user may not use must not pass for a
stale one: the sandbox would start a second engine (as root, through sudo) over it.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

from ops.sandbox.docker_engine import SocketState, socket_state

NOBODY = 65534


@pytest.fixture
def folder():
    # Readable by an unprivileged user, unlike pytest's tmp_path (0700 under root).
    path = Path(tempfile.mkdtemp(prefix="docker-socket-"))
    path.chmod(0o755)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def test_no_socket_file_is_absent(folder):
    assert socket_state(folder / "docker.sock") is SocketState.ABSENT


def test_a_socket_file_nothing_listens_on_is_stale(folder):
    path = folder / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
    assert socket_state(path) is SocketState.STALE


def test_a_socket_something_listens_on_is_listening(folder):
    path = folder / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        assert socket_state(path) is SocketState.LISTENING


def _state_as_nobody(path: Path) -> str:
    """socket_state seen by an unprivileged user: a forked child that drops root first."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write_end, socket_state(path).name.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        state = answer.read()
    os.waitpid(child, 0)
    return state


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to look as another user")
def test_a_listening_socket_of_another_group_is_forbidden_not_stale(folder):
    path = folder / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        path.chmod(0o660)  # root:root here; dockerd's is root:docker
        assert _state_as_nobody(path) == "FORBIDDEN"
        assert socket_state(path) is SocketState.LISTENING  # root itself may use it
