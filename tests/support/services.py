"""Real services for tests, started as child processes on loopback and stopped by pid.

If a service cannot start, the fixture fails with a message that says why; a test never
silently skips because a component is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """SIGTERM the process group we started, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@dataclass
class MotoServer:
    """A moto server (the AWS emulator) on loopback."""

    endpoint_url: str
    process: subprocess.Popen

    def reset(self) -> None:
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)


def start_moto(log_dir: Path) -> MotoServer:
    executable = Path(sys.executable).with_name("moto_server")
    if not executable.exists():
        pytest.fail(f"moto_server not found next to {sys.executable}: run ./scripts/test.sh")
    port = free_port()
    log = open(log_dir / "moto.log", "wb")  # noqa: SIM115 - lives as long as the server
    env = {**os.environ, "MOTO_DOCKER_NETWORK_MODE": "host"}
    process = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=30, process=process)
    except RuntimeError as exc:
        stop_process(process)
        pytest.fail(f"moto server did not start ({exc}); see {log_dir / 'moto.log'}")
    return MotoServer(f"http://127.0.0.1:{port}", process)


def which_or_fail(program: str, hint: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: {hint}")
    return path
