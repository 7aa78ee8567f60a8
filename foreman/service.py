"""The foreman as a background service on this machine: start, find, stop — by pid file.

`inv local.up` starts it, `inv local.down` stops it, and anything that must pause the
database's writers (a restore) stops and restarts it through these functions. The pid file
holds `<pid>:<start time>` so a recycled pid is never mistaken for the foreman.

Every foreman process — the background one, and any started by hand with `inv foreman.run` or
`python -m foreman run` — also registers itself in the environment's `foremen/` folder for as
long as it runs (`registered_foreman`), so `stop_every_foreman` finds standbys too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from common.environments import REPO_ROOT, Environment
from common.errors import RefineryError
from common.inputs import is_digits
from common.shell import last_lines, start_detached
from foreman.executors.local import process_start_time


class ServiceError(RefineryError):
    """The background foreman could not be started or stopped."""


def pid_file(env: Environment) -> Path:
    return env.state_dir / "foreman.pid"


def log_file(env: Environment) -> Path:
    return env.state_dir / "foreman.log"


def registry_dir(env: Environment) -> Path:
    return env.state_dir / "foremen"


@contextlib.contextmanager
def registered_foreman(env: Environment) -> Iterator[None]:
    """Record this process as one of `env`'s foremen while the block runs."""
    entry = registry_dir(env) / str(os.getpid())
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(f"{os.getpid()}:{process_start_time(os.getpid()) or ''}\n")
    try:
        yield
    finally:
        entry.unlink(missing_ok=True)


def running_foremen(env: Environment) -> list[int]:
    """Pids of every live foreman process of `env` on this machine (stale entries removed)."""
    pids = set()
    background = foreman_pid(env)
    if background is not None:
        pids.add(background)
    folder = registry_dir(env)
    for entry in folder.iterdir() if folder.is_dir() else ():
        pid = _live_pid(entry)
        if pid is None:
            entry.unlink(missing_ok=True)
        else:
            pids.add(pid)
    return sorted(pids)


def _live_pid(entry: Path) -> int | None:
    try:
        pid_text, _, started = entry.read_text().strip().partition(":")
    except FileNotFoundError:
        return None
    if not pid_text.isascii() or not is_digits(pid_text):
        return None
    pid = int(pid_text)
    return pid if started and process_start_time(pid) == started else None


def stop_every_foreman(env: Environment, *, timeout: float = 30.0) -> list[int]:
    """SIGTERM every foreman of `env` (background and by hand), wait for them; their pids."""
    pids = running_foremen(env)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    stubborn = [pid for pid in pids if not _wait_gone(pid, timeout)]
    for pid in stubborn:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    left = [pid for pid in stubborn if not _wait_gone(pid, 5)]
    if left:
        raise ServiceError(f"foreman pids {left} did not stop; kill them by hand")
    pid_file(env).unlink(missing_ok=True)
    for pid in pids:
        (registry_dir(env) / str(pid)).unlink(missing_ok=True)
    return pids


def foreman_pid(env: Environment) -> int | None:
    """The pid of the environment's running background foreman, or None."""
    try:
        pid_text, _, started = pid_file(env).read_text().strip().partition(":")
    except FileNotFoundError:
        return None
    if not is_digits(pid_text):
        return None
    pid = int(pid_text)
    return pid if process_start_time(pid) == started else None


def start_foreman_background(env: Environment, *, settle_seconds: float = 1.0) -> int:
    """Start a detached foreman for `env` unless one runs; returns its pid."""
    running = foreman_pid(env)
    if running is not None:
        return running
    log_path = log_file(env)
    process = start_detached(
        [sys.executable, "-m", "foreman", "run", "-e", env.name], log_file=log_path, cwd=REPO_ROOT
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
