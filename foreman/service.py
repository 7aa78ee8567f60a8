"""The foreman as a background service on this machine: start, find, stop — by pid file.

`inv local.up` starts it, `inv local.down` stops it, and anything that must pause the
database's writers (a restore) stops and restarts it through these functions. The pid file
holds `<pid>:<start time>` so a recycled pid is never mistaken for the foreman.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common.environments import REPO_ROOT, Environment
from common.errors import RefineryError
from common.shell import last_lines
from foreman.executors.local import process_start_time


class ServiceError(RefineryError):
    """The background foreman could not be started or stopped."""


def pid_file(env: Environment) -> Path:
    return env.state_dir / "foreman.pid"


def log_file(env: Environment) -> Path:
    return env.state_dir / "foreman.log"


def foreman_pid(env: Environment) -> int | None:
    """The pid of the environment's running background foreman, or None."""
    try:
        pid_text, _, started = pid_file(env).read_text().strip().partition(":")
    except FileNotFoundError:
        return None
    if not pid_text.isdigit():
        return None
    pid = int(pid_text)
    return pid if process_start_time(pid) == started else None


def start_foreman_background(env: Environment, *, settle_seconds: float = 1.0) -> int:
    """Start a detached foreman for `env` unless one runs; returns its pid."""
    running = foreman_pid(env)
    if running is not None:
        return running
    log_path = log_file(env)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "foreman", "run", "-e", env.name],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = process_start_time(process.pid) or ""
    pid_file(env).write_text(f"{process.pid}:{started}\n")
    deadline = time.monotonic() + settle_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_file(env).unlink(missing_ok=True)
            raise ServiceError(
                f"the foreman exited at once (code {process.returncode}): "
                f"{last_lines(log_path.read_text(errors='replace'), 1) or f'see {log_path}'}"
            )
        time.sleep(0.1)
    return process.pid


def stop_foreman(env: Environment, *, timeout: float = 30.0) -> bool:
    """SIGTERM the background foreman and wait for it; False when none was running."""
    pid = foreman_pid(env)
    if pid is None:
        pid_file(env).unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 5):
            raise ServiceError(f"foreman pid {pid} did not stop; kill it by hand")
    pid_file(env).unlink(missing_ok=True)
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when we are its parent
        if process_start_time(pid) is None:
            return True
        time.sleep(0.1)
    return False
