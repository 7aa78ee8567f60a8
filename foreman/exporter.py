"""The foreman's `/metrics` endpoint: the metrics layer's snapshot in Prometheus' format.

Figures are read from the database at scrape time (`common.metrics.collect`), never kept in
process memory, so a restarted foreman serves the same counters and a standby serves the
same figures as the leader. `[foreman] metrics_address` is where it listens; an empty value
turns it off. Its default port 0 takes a free loopback port, so foremen of several checkouts
(or a leader and its standby) on one machine each get their own; every foreman records the
address it got in `<state>/metrics/<pid>` while it serves, and `metrics_addresses` reads the
records of the live ones (what a scrape configuration or a person looks up). A fixed port
already taken is a warning, not a reason to stop dispatching.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from psycopg2.extensions import connection as Connection

from common import db
from common.environments import Environment
from common.errors import first_line
from common.inputs import is_digits
from common.metrics import DURATION_BOUNDS, OUTCOMES, Snapshot
from common.settings.jobs import parse_address
from foreman.executors.local import process_start_time

log = logging.getLogger(__name__)
JOB_STATES = ("pending", "dispatched", "running", "errored", "failed")

# name -> help: every metric the exporter serves (the alert rules may name only these).
METRICS: dict[str, str] = {
    "refinery_jobs": "Jobs per queue, kind and live state (pending, dispatched, running, "
    "errored, failed).",
    "refinery_queue_capacity": "Attempts a queue may run at once (the executor's limit).",
    "refinery_oldest_pending_seconds": "Age of the oldest pending job; 0 when none waits.",
    "refinery_stale_heartbeats": "Running jobs whose worker has not beaten within "
    "stale_after_seconds.",
    "refinery_dispatches_total": "Attempts handed to the executor.",
    "refinery_attempts_total": "Finished attempts per outcome (succeeded, errored, lost, "
    "cancelled).",
    "refinery_attempt_duration_seconds": "Attempt durations, submission to end.",
    "refinery_failed_jobs_by_reason": "Failed jobs per normalised reason (the most common).",
    "refinery_foremen": "Foremen with a live heartbeat row, per role.",
    "refinery_foreman_heartbeat_age_seconds": "Seconds since the leading foreman's last "
    "heartbeat; +Inf when none leads.",
    "refinery_backup_age_seconds": "Age of the newest backup; +Inf when there is none.",
    "refinery_backup_verified": "1 when the newest backup was proved by a restore, else 0.",
    "refinery_lake_check_age_seconds": "Seconds since the last lake check; +Inf when never.",
    "refinery_lake_in_sync": "1 when the last lake check found lake and catalog in sync.",
    "refinery_lake_differences": "Differences the last lake check found.",
    "refinery_deployed": "The release the leading foreman runs (label version).",
}


def _suffixless(name: str) -> str:
    """prometheus_client appends _total / _info itself."""
    return name.removesuffix("_total")


def snapshot_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    """The snapshot as Prometheus metric families."""
    jobs = GaugeMetricFamily(
        "refinery_jobs", METRICS["refinery_jobs"], labels=("queue", "kind", "state")
    )
    capacity = GaugeMetricFamily(
        "refinery_queue_capacity", METRICS["refinery_queue_capacity"], labels=("queue",)
    )
    oldest, stale = (
        GaugeMetricFamily(name, METRICS[name], labels=("queue", "kind"))
        for name in ("refinery_oldest_pending_seconds", "refinery_stale_heartbeats")
    )
    dispatches = CounterMetricFamily(
        _suffixless("refinery_dispatches_total"),
        METRICS["refinery_dispatches_total"],
        labels=("queue", "kind"),
    )
    attempts = CounterMetricFamily(
        _suffixless("refinery_attempts_total"),
        METRICS["refinery_attempts_total"],
        labels=("queue", "kind", "outcome"),
    )
    durations = HistogramMetricFamily(
        "refinery_attempt_duration_seconds",
        METRICS["refinery_attempt_duration_seconds"],
        labels=("queue", "kind"),
    )
    queues_seen: set[str] = set()
    for q in snapshot.queues:
        labels = (q.queue, q.kind)
        for state in JOB_STATES:
            jobs.add_metric((*labels, state), getattr(q, state))
        if q.queue not in queues_seen:
            capacity.add_metric((q.queue,), q.capacity)
            queues_seen.add(q.queue)
        oldest.add_metric(labels, q.oldest_pending_seconds)
        stale.add_metric(labels, q.stale_heartbeats)
        dispatches.add_metric(labels, q.dispatches_total)
        for outcome in OUTCOMES:
            attempts.add_metric((*labels, outcome), q.outcomes_total[outcome])
        buckets = [(_bound(b), q.duration_buckets[i]) for i, b in enumerate(DURATION_BOUNDS)]
        buckets.append(("+Inf", q.duration_count))
        durations.add_metric(labels, buckets, q.duration_sum_seconds)
    yield from (jobs, capacity, oldest, stale, dispatches, attempts, durations)

    reasons = GaugeMetricFamily(
        "refinery_failed_jobs_by_reason",
        METRICS["refinery_failed_jobs_by_reason"],
        labels=("reason", "kind", "queue"),
    )
    for group in snapshot.failure_reasons:
        reasons.add_metric((group.reason, group.kind, group.queue), group.jobs)
    yield reasons

    foremen = GaugeMetricFamily("refinery_foremen", METRICS["refinery_foremen"], labels=("role",))
    for role in ("leader", "standby"):
        foremen.add_metric((role,), sum(1 for beat in snapshot.foremen if beat.role == role))
    yield foremen
    leader = snapshot.leader
    yield _gauge(
        "refinery_foreman_heartbeat_age_seconds", leader.age_seconds if leader else math.inf
    )
    backup = snapshot.backup
    yield _gauge("refinery_backup_age_seconds", backup.age_seconds if backup else math.inf)
    yield _gauge("refinery_backup_verified", 1 if backup and backup.verified else 0)
    check = snapshot.lake_check
    yield _gauge("refinery_lake_check_age_seconds", check.age_seconds if check else math.inf)
    yield _gauge("refinery_lake_in_sync", 1 if check and check.in_sync else 0)
    yield _gauge("refinery_lake_differences", check.differences if check else 0)
    deployed = InfoMetricFamily("refinery_deployed", METRICS["refinery_deployed"])
    deployed.add_metric((), {"version": snapshot.deployed_version or "unknown"})
    yield deployed


def _gauge(name: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, METRICS[name], value=value)


def _bound(value: float) -> str:
    return str(float(value))


class SnapshotCollector(Collector):
    """Collects a fresh snapshot on every scrape, on a connection of its own."""

    def __init__(self, take_snapshot: Callable[[Any], Snapshot], env: Environment) -> None:
        self._take = take_snapshot
        self._env = env
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = db.connect(self._env)
                snapshot = self._take(self._conn)
            except Exception as exc:
                # A scrape that fails shows as a failed scrape (`up`), not a dead foreman.
                log.warning("metrics: cannot read the database: %s", first_line(exc))
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                raise
        yield from snapshot_metrics(snapshot)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def metrics_records(env: Environment) -> Path:
    """The folder where each serving foreman of `env` records its address."""
    return env.state_dir / "metrics"


def metrics_addresses(env: Environment) -> dict[int, str]:
    """pid -> `host:port` of every live foreman of `env` on this machine serving `/metrics`
    (records of processes that are gone are ignored)."""
    found = {}
    folder = metrics_records(env)
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            started, _, address = entry.read_text().strip().partition(" ")
        except FileNotFoundError:
            continue
        if is_digits(entry.name) and process_start_time(int(entry.name)) == started:
            found[int(entry.name)] = address
    return found


def _record_address(env: Environment, host: str, port: int) -> Path:
    record = metrics_records(env) / str(os.getpid())
    record.parent.mkdir(parents=True, exist_ok=True)
    shown = f"[{host}]" if ":" in host else host
    record.write_text(f"{process_start_time(os.getpid()) or ''} {shown}:{port}\n")
    return record


class MetricsServer:
    """The running endpoint (or nothing, when turned off or its port is taken)."""

    def __init__(
        self,
        server: Any = None,
        thread: Any = None,
        collector: Any = None,
        record: Path | None = None,
    ) -> None:
        self.server, self.thread, self.collector = server, thread, collector
        self.record = record

    @property
    def port(self) -> int | None:
        return self.server.server_port if self.server is not None else None

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.collector is not None:
            self.collector.close()
        if self.record is not None:
            self.record.unlink(missing_ok=True)


def serve_metrics(
    env: Environment, address: str, take_snapshot: Callable[[Any], Snapshot]
) -> MetricsServer:
    """Start `/metrics` on `address` in a background thread."""
    parsed = parse_address(address)
    if parsed is None:
        return MetricsServer()
    registry = CollectorRegistry(auto_describe=False)
    collector = SnapshotCollector(take_snapshot, env)
    registry.register(collector)
    host, port = parsed
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.warning("metrics endpoint not started on %s: %s", address, exc.strerror or exc)
        collector.close()
        return MetricsServer()
    log.info("serving metrics on http://%s:%d/metrics", host, server.server_port)
    record = _record_address(env, host, server.server_port)
    return MetricsServer(server, thread, collector, record)
