"""Stopping and restarting the environment's writers (the foreman and its workers) around a
restore, so nothing writes to the database being replaced.

Locally the foreman is this machine's background service (foreman/service.py, found by its
pid file) and stops its worker processes itself. In the cloud the writers are the foreman on
its host and the Batch jobs (ops/db/backups/cloud_writers.py): stopped over SSH and through
the Batch API, and the foreman started again after.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from common.environments import Environment
from common.errors import RefineryError
from ops.db.backups.cloud_writers import (
    CloudWriters,
    has_cloud_writers,
    start_cloud_writers,
    stop_cloud_writers,
)

log = logging.getLogger(__name__)

try:  # the foreman service module arrives with the foreman area
    from foreman import service as foreman_service  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on which areas are merged
    foreman_service = None


@dataclass(frozen=True)
class WritersState:
    """Whether writers were running before we stopped them (so we restart only those)."""

    foreman_pid: int | None
    cloud: CloudWriters | None = None

    @property
    def were_running(self) -> bool:
        return self.foreman_pid is not None or self.cloud is not None


def running_foreman_pid(env: Environment) -> int | None:
    if foreman_service is not None:
        return foreman_service.foreman_pid(env)
    # The pid file holds `<pid>:<start time>`, so a recycled pid is not taken for the foreman.
    try:
        pid_text, _, started = (env.state_dir / "foreman.pid").read_text().strip().partition(":")
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    actual = _start_time(pid)
    if actual is None or (started and actual != started):
        return None
    return pid


def stop_writers(env: Environment, *, timeout: float = 30) -> WritersState:
    """Stop the foreman (which stops its workers); wait until it is gone."""
    if has_cloud_writers(env):
        return WritersState(None, stop_cloud_writers(env))
    pid = running_foreman_pid(env)
    if pid is None:
        return WritersState(None)
    if foreman_service is not None:
        foreman_service.stop_foreman(env)
        return WritersState(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return WritersState(pid)


def restart_writers(env: Environment, state: WritersState) -> str:
    """Start the foreman again if it was running; a sentence saying what happened."""
    if not state.were_running:
        return "no writers were running; none started"
    if state.cloud is not None:
        try:
            return start_cloud_writers(env, state.cloud)
        except RefineryError as exc:  # the restore itself is done; say what is left to do
            return f"the foreman did not start again ({exc}); start it on its host"
    if foreman_service is None:
        return "the foreman was stopped; start it again with inv foreman.run"
    try:
        pid = foreman_service.start_foreman_background(env)
    except RefineryError as exc:  # the restore itself is done; say what is left to do
        return f"the foreman did not restart ({exc}); start it with inv foreman.run"
    return f"the foreman was restarted (pid {pid})"


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    return _start_time(pid) is not None


def _start_time(pid: int) -> str | None:
    """Start time in clock ticks since boot; None when gone or a zombie (writes nothing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]
