"""The process that dispatches in `inv bench.curve` (ops.foreman.curve): a module of its own,
so the spawned process imports what a foreman imports and no more — its peak memory is then
the foreman's, not the bench's (the emulator's client, the report's table).
"""

from __future__ import annotations

import logging
import resource
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from common import db
from common.environments import Environment
from common.settings.jobs import ForemanSettings
from foreman.dispatch import dispatch_pending_jobs, reconcile_active_jobs
from foreman.executors import executor_for


@dataclass(frozen=True)
class Dispatched:
    """What the process that dispatched measured of itself."""

    dispatched: int
    seconds: float
    reconciled: int
    reconcile_seconds: float
    lost: int
    rss_before_mb: float
    peak_rss_mb: float


def dispatch_slice(target: Environment) -> Dispatched:
    """In its own process: one round of dispatch (the queue's capacity), then one reconcile."""
    # On the emulator with containers off every child is SUCCEEDED at once, no worker having
    # run, so the reconcile gives each attempt up with a warning: counted in `lost` instead.
    logging.getLogger("foreman").setLevel(logging.ERROR)
    settings = ForemanSettings.for_environment(target)
    executor = executor_for(target)
    with closing(executor), db.connection(target) as conn:
        rss_before = _peak_rss_mb()
        started = time.perf_counter()
        dispatched = dispatch_pending_jobs(conn, target, executor, batch_size=settings.batch_size)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = reconcile_active_jobs(
            conn,
            executor,
            stale_after=settings.stale_after_seconds,
            submit_grace=settings.submit_grace_seconds,
        )
        reconcile_seconds = time.perf_counter() - started
    return Dispatched(
        dispatched, seconds, report.active, reconcile_seconds, report.lost, rss_before,
        _peak_rss_mb(),
    )  # fmt: skip


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    VmHWM, the high-water mark of this process's own address space, not ru_maxrss: Linux
    carries ru_maxrss over from the process that forked and exec'd this one (the bench,
    with everything it imported), so it would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
