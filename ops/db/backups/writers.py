"""Stopping and restarting the environment's writers (the foreman and its workers) around a
restore, so nothing writes to the database being replaced.

Locally the foreman is this machine's background service (foreman/service.py, found by its
pid file) and stops its worker processes itself. In the cloud the writers are the foreman on
its host and the Batch jobs (ops/db/backups/cloud_writers.py): stopped over SSH and through
the Batch API, and the foreman started again after.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.environments import Environment
from common.errors import RefineryError
from foreman import service as foreman_service
from ops.db.backups.cloud_writers import (
    CloudWriters,
    has_cloud_writers,
    start_cloud_writers,
    stop_cloud_writers,
)


@dataclass(frozen=True)
class WritersState:
    """Whether writers were running before we stopped them (so we restart only those)."""

    foreman_pid: int | None
    cloud: CloudWriters | None = None

    @property
    def were_running(self) -> bool:
        return self.foreman_pid is not None or self.cloud is not None


def running_foreman_pid(env: Environment) -> int | None:
    return foreman_service.foreman_pid(env)


def stop_writers(env: Environment, *, timeout: float = 30) -> WritersState:
    """Stop the foreman (which stops its workers); wait until it is gone."""
    if has_cloud_writers(env):
        return WritersState(None, stop_cloud_writers(env))
    pid = foreman_service.foreman_pid(env)
    if pid is None:
        return WritersState(None)
    foreman_service.stop_foreman(env, timeout=timeout)
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
    try:
        pid = foreman_service.start_foreman_background(env)
    except RefineryError as exc:  # the restore itself is done; say what is left to do
        return f"the foreman did not restart ({exc}); start it with inv foreman.run"
    return f"the foreman was restarted (pid {pid})"
