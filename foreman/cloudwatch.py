"""The metrics layer's figures as CloudWatch custom metrics, for staging and prod.

When `[foreman] cloudwatch_namespace` is set, the leading foreman publishes its snapshot once a
minute (with the rollup) through `put_metric_data`: per queue and kind, and an
environment-wide figure of each for the alarms (infrastructure/modules/monitoring). Counters
become per-minute counts: the growth of the totals since the previous publication by this
foreman (none the first time). An age that is infinite (no leader, no backup, never checked)
is not sent: the alarms treat missing data as breaching.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from common.environments import Environment
from common.metrics import UNLIMITED, Snapshot

_PER_QUEUE = {
    "PendingJobs": "pending",
    "DispatchedJobs": "dispatched",
    "RunningJobs": "running",
    "FailedJobs": "failed",
    "StaleHeartbeats": "stale_heartbeats",
}
# The names the alarms use (infrastructure/modules/monitoring); a test keeps them in step.
METRIC_NAMES = (
    *_PER_QUEUE, "OldestPendingSeconds", "QueueCapacity", "Dispatches", "AttemptsSucceeded",
    "AttemptsFailed", "ForemanHeartbeatAgeSeconds", "BackupAgeSeconds", "BackupVerified",
    "LakeCheckAgeSeconds", "LakeInSync",
)  # fmt: skip
BATCH = 500


def cloudwatch_client(env: Environment) -> Any:
    import boto3  # slow to import: only foremen that publish pay for it

    return boto3.client(
        "cloudwatch", region_name=env.aws.region, endpoint_url=env.aws.endpoint_url or None
    )


def _totals(snapshot: Snapshot) -> dict[str, int]:
    return {
        "Dispatches": sum(q.dispatches_total for q in snapshot.queues),
        "AttemptsSucceeded": sum(q.outcomes_total["succeeded"] for q in snapshot.queues),
        "AttemptsFailed": sum(
            q.outcomes_total["errored"] + q.outcomes_total["lost"] for q in snapshot.queues
        ),
    }


def metric_data(
    environment: str, snapshot: Snapshot, previous: Snapshot | None = None
) -> list[dict[str, Any]]:
    """The `MetricData` entries for one snapshot."""
    at: datetime = snapshot.taken_at
    env_only = [{"Name": "Environment", "Value": environment}]
    data: list[dict[str, Any]] = []

    def add(name: str, value: float, unit: str = "Count", extra: list | None = None) -> None:
        if math.isfinite(value):
            data.append({"MetricName": name, "Dimensions": env_only + (extra or []),
                         "Timestamp": at, "Value": float(value), "Unit": unit})  # fmt: skip

    for q in snapshot.queues:
        dims = [{"Name": "Queue", "Value": q.queue}, {"Name": "Kind", "Value": q.kind}]
        for name, field in _PER_QUEUE.items():
            add(name, getattr(q, field), extra=dims)
        add("OldestPendingSeconds", q.oldest_pending_seconds, "Seconds", dims)
        if q.capacity < UNLIMITED:
            add("QueueCapacity", q.capacity, extra=dims)
    for name, field in _PER_QUEUE.items():
        add(name, sum(getattr(q, field) for q in snapshot.queues))
    add("OldestPendingSeconds", max((q.oldest_pending_seconds for q in snapshot.queues),
                                    default=0.0), "Seconds")  # fmt: skip
    if previous is not None:
        before = _totals(previous)
        for name, total in _totals(snapshot).items():
            add(name, max(total - before[name], 0))
    leader = snapshot.leader
    add("ForemanHeartbeatAgeSeconds", leader.age_seconds if leader else math.inf, "Seconds")
    backup = snapshot.backup
    add("BackupAgeSeconds", backup.age_seconds if backup else math.inf, "Seconds")
    add("BackupVerified", 1 if backup and backup.verified else 0)
    check = snapshot.lake_check
    add("LakeCheckAgeSeconds", check.age_seconds if check else math.inf, "Seconds")
    if check is not None:
        add("LakeInSync", 1 if check.in_sync else 0)
    return data


def publish(
    client: Any,
    namespace: str,
    environment: str,
    snapshot: Snapshot,
    previous: Snapshot | None = None,
) -> int:
    """Send the snapshot; returns how many data points went out."""
    data = metric_data(environment, snapshot, previous)
    for start in range(0, len(data), BATCH):
        client.put_metric_data(Namespace=namespace, MetricData=data[start : start + BATCH])
    return len(data)
