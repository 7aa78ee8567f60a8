"""Bringing the local environment up and down, so that stopped means stopped.

`bring_up` and `shut_down` run under the embedded cluster's lifecycle lock, so two `local.up`
at once start one background foreman, not two, and nothing starts PostgreSQL while `local.down`
stops it. `shut_down` first marks the cluster stopped (from then on only `bring_up` may start
it: commands, foremen and workers that want the database are refused with one line), then
stops every foreman of the environment — the background one and any started by hand — and
then PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from common.db import connection, embedded_cluster
from common.environments import Environment
from foreman.exporter import metrics_addresses
from foreman.migrations import apply_migrations
from foreman.service import foreman_pid, log_file, start_foreman_background, stop_every_foreman


@dataclass(frozen=True)
class UpReport:
    """What `bring_up` found and did."""

    foreman_pid: int
    foreman_was_running: bool
    foreman_log: Path
    metrics_address: str | None  # where the foreman serves /metrics (a free port it picked)


@dataclass(frozen=True)
class DownReport:
    """What `shut_down` stopped."""

    foremen: list[int]
    postgres_stopped: bool


def bring_up(env: Environment) -> UpReport:
    """Start PostgreSQL (clearing a `local.down`), migrate, start one background foreman."""
    cluster = embedded_cluster()
    with cluster.lifecycle_lock():
        cluster.clear_stopped()
        with connection(env) as conn:
            apply_migrations(conn)
        running = foreman_pid(env)
        pid = start_foreman_background(env)
    return UpReport(pid, running == pid, log_file(env), _metrics_address(env, pid))


def _metrics_address(env: Environment, pid: int, wait_seconds: float = 10.0) -> str | None:
    """The address the foreman recorded once it serves `/metrics` (None: turned off, or not
    serving within the wait; its log says why)."""
    deadline = time.monotonic() + wait_seconds
    while (address := metrics_addresses(env).get(pid)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return address


def shut_down(env: Environment) -> DownReport:
    """Mark the cluster stopped, stop every foreman of `env`, then PostgreSQL."""
    cluster = embedded_cluster()
    with cluster.lifecycle_lock():
        cluster.mark_stopped()
        foremen = stop_every_foreman(env)
        stopped = cluster.stop()
    return DownReport(foremen, stopped)
