"""Stopping and restarting the environment's writers (the foreman and its workers) around a
restore, so nothing writes to the database being replaced.

The foreman runs as a background service found by its pid file (foreman/service.py); this
module only remembers whether it ran, so a restore restarts exactly what it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.environments import Environment
from common.errors import RefineryError
from foreman import service as foreman_service


@dataclass(frozen=True)
class WritersState:
    """Whether writers were running before we stopped them (so we restart only those)."""

    foreman_pid: int | None

    @property
    def were_running(self) -> bool:
        return self.foreman_pid is not None


def running_foreman_pid(env: Environment) -> int | None:
    return foreman_service.foreman_pid(env)


def stop_writers(env: Environment, *, timeout: float = 30) -> WritersState:
    """Stop the foreman (which stops its workers); wait until it is gone."""
    pid = foreman_service.foreman_pid(env)
    if pid is None:
        return WritersState(None)
    foreman_service.stop_foreman(env, timeout=timeout)
    return WritersState(pid)


def restart_writers(env: Environment, state: WritersState) -> str:
    """Start the foreman again if it was running; a sentence saying what happened."""
    if not state.were_running:
        return "no writers were running; none started"
    try:
        pid = foreman_service.start_foreman_background(env)
    except RefineryError as exc:  # the restore itself is done; say what is left to do
        return f"the foreman did not restart ({exc}); start it with inv foreman.run"
    return f"the foreman was restarted (pid {pid})"
