"""Long-running service processes on loopback: started detached, tracked and stopped by pid.

The sandbox's services (the AWS emulator, the registry, the foreman host's sshd, perhaps a
Docker engine) outlive the `inv` that started them, so each one's pid is kept in a pid file
as `<pid>:<start time>` — a recycled pid is never taken for the service — and it is stopped
by that pid alone, never by name. The test fixtures start the same programs through the same
functions and keep the `Popen` handle instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from common.errors import CommandError, RefineryError
from common.inputs import is_digits
from common.shell import start_detached
from foreman.executors.local import process_start_time


class SandboxError(RefineryError):
    """A sandbox service could not be started, found or stopped."""


def free_port() -> int:
    """A port nothing listens on at this moment, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Return once 127.0.0.1:`port` accepts; SandboxError if `process` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SandboxError(f"process exited with {process.returncode} before listening")
        if port_open(port):
            return
        time.sleep(0.1)
    raise SandboxError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log_file: Path,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen:
    """Start `argv` in its own session (so it outlives us), output appended to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        return start_detached(argv, log_file=log_file, env=env)
    except CommandError as exc:
        raise SandboxError(str(exc)) from None


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
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def record_pid(pid_file: Path, pid: int) -> None:
    """Keep `<pid>:<start time>` so that only this very process is ever signalled."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}:{process_start_time(pid) or ''}\n")


def recorded_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process still runs (same start time), else None."""
    try:
        pid_text, _, started = pid_file.read_text().strip().partition(":")
    except FileNotFoundError:
        return None
    if not is_digits(pid_text):
        return None
    pid = int(pid_text)
    actual = process_start_time(pid)
    return pid if actual is not None and actual == started else None


def stop_recorded(
    pid_file: Path, *, timeout: float = 30, group: bool = True, grace: float = 0
) -> bool:
    """Stop the process in `pid_file` (its session too, when `group`); False if none ran.
    A process given `grace` seconds to end by itself is signalled only if it has not."""
    pid = recorded_pid(pid_file)
    if pid is None or (grace and _wait_gone(pid, grace)):
        pid_file.unlink(missing_ok=True)
        return False
    _signal(pid, signal.SIGTERM, group)
    if not _wait_gone(pid, timeout):
        _signal(pid, signal.SIGKILL, group)
        if not _wait_gone(pid, 10):
            raise SandboxError(f"pid {pid} ({pid_file.stem}) did not stop")
    pid_file.unlink(missing_ok=True)
    return True


def _signal(pid: int, signum: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if process_start_time(pid) is None:
            return True
        time.sleep(0.1)
    return False
