"""Stopping and restarting the environment's writers (the foreman and its workers) around a
restore, so nothing writes to the database being replaced.

The foreman's own service module does this when it is installed; until then the foreman is
found by its pid file (`<state>/foreman.pid`) and asked to stop with SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from foreman.environments import Environment

log = logging.getLogger(__name__)

try:  # the foreman service module arrives with the foreman area
    from foreman import service as foreman_service  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on which areas are merged
    foreman_service = None


@dataclass(frozen=True)
class WritersState:
    """Whether writers were running before we stopped them (so we restart only those)."""

    foreman_pid: int | None

    @property
    def were_running(self) -> bool:
        return self.foreman_pid is not None


def running_foreman_pid(env: Environment) -> int | None:
    if foreman_service is not None:
        return foreman_service.foreman_pid(env)
    pid_file = env.state_dir / "foreman.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    return pid


def stop_writers(env: Environment, *, timeout: float = 30) -> WritersState:
    """Stop the foreman (which stops its workers); wait until it is gone."""
    pid = running_foreman_pid(env)
    if pid is None:
        return WritersState(None)
    if foreman_service is not None:
        foreman_service.stop_foreman(env)
        return WritersState(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return WritersState(pid)


def restart_writers(env: Environment, state: WritersState) -> str:
    """Start the foreman again if it was running; a sentence saying what happened."""
    if not state.were_running:
        return "no writers were running; none started"
    if foreman_service is None:
        return "the foreman was stopped; start it again with inv foreman.run"
    foreman_service.start_foreman_background(env)
    return "the foreman was restarted"


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) writes nothing any more
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
