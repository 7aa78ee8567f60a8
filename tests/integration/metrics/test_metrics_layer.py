"""The metrics layer on real PostgreSQL: its counts are `inv jobs.status`'s, the oldest pending
age is 0 on an empty queue, failures group by normalised reason, and the facts recorded by
`inv lake.check` and the backup commands come back."""

from __future__ import annotations

import json

import pytest

from common.metrics import DURATION_BOUNDS, collect
from tests.integration.metrics.conftest import add_attempt, add_job

pytestmark = pytest.mark.integration


def _snapshot(conn, capacity=4):
    return collect(conn, capacity=lambda queue: capacity, stale_after_seconds=60)


def test_counts_match_inv_jobs_status(env, conn, inv):
    for state, count in (("pending", 3), ("running", 2), ("failed", 2), ("succeeded", 4)):
        for _ in range(count):
            add_job(conn, state=state, attempt=1 if state != "pending" else 0)
    add_job(conn, kind="download", queue="spot", state="dispatched", attempt=1)
    add_job(conn, kind="survey", state="errored", attempt=1)

    snapshot = _snapshot(conn)
    result = inv("jobs.status", "-e", env.name, "--json")
    assert result.returncode == 0, result.stderr
    status = {(c["kind"], c["state"]): c["jobs"] for c in json.loads(result.stdout)["counts"]}

    ours: dict[tuple[str, str], int] = {}
    for q in snapshot.queues:
        for state in ("pending", "dispatched", "running", "errored", "failed"):
            if getattr(q, state):
                key = (q.kind, state)
                ours[key] = ours.get(key, 0) + getattr(q, state)
    live = {key: n for key, n in status.items() if key[1] != "succeeded"}
    assert ours == live
    assert ours[("process", "pending")] == 3 and ours[("download", "dispatched")] == 1
    assert snapshot.totals()["pending"] == 3


def test_oldest_pending_age_is_zero_on_an_empty_queue(conn):
    waiting = add_job(conn, queue="spot", age_seconds=120)
    add_job(conn, queue="default", state="succeeded", attempt=1, age_seconds=3600)

    by_queue = {q.queue: q for q in _snapshot(conn).queues}
    assert by_queue["default"].oldest_pending_seconds == 0
    assert 119 <= by_queue["spot"].oldest_pending_seconds < 180

    with conn.cursor() as cur:
        cur.execute("UPDATE jobs SET state = 'succeeded' WHERE id = %s", (waiting,))
    conn.commit()
    by_queue = {q.queue: q for q in _snapshot(conn).queues}
    assert by_queue["spot"].oldest_pending_seconds == 0
    assert by_queue["spot"].pending == 0


def test_capacity_comes_from_the_executor_limit_per_queue(conn):
    add_job(conn, queue="spot")
    add_job(conn, queue="large_memory")
    limits = {"spot": 200, "large_memory": 20}
    snapshot = collect(conn, capacity=limits.__getitem__, stale_after_seconds=60)
    assert {q.queue: q.capacity for q in snapshot.queues} == limits


def test_failures_group_by_reason_without_their_numbers_ids_and_paths(conn):
    reasons = [
        "download of /lake/raw/ena-PRJ1/ERX1/a_1.fastq.gz failed: HTTP 503 after 3 tries",
        "download of /lake/raw/ena-PRJ2/ERX9/b_2.fastq.gz failed: HTTP 503 after 5 tries",
        "worker process killed by SIGKILL (job 4711, container 3f2a9c0d11e4)",
        "worker process killed by SIGKILL (job 99, container 77ab01ff9e2c)",
        "s3://bucket/key/1 is missing",
    ]
    for reason in reasons:
        add_job(conn, state="failed", attempt=3, reason=reason)
    add_job(conn, state="failed", attempt=3, reason=None)

    groups = {g.reason: g.jobs for g in _snapshot(conn).failure_reasons}
    assert groups == {
        "download of <path> failed: HTTP <n> after <n> tries": 2,
        "worker process killed by SIGKILL (job <n>, container <id>)": 2,
        "<url> is missing": 1,
        "no reason given": 1,
    }


def test_stale_heartbeats_counters_and_duration_histogram(conn):
    add_job(conn, state="running", attempt=1, heartbeat_age=300)
    add_job(conn, state="running", attempt=1, heartbeat_age=1)
    done = add_job(conn, state="succeeded", attempt=2)
    add_attempt(conn, done, 1, "errored", 3)
    add_attempt(conn, done, 2, "succeeded", 100)

    (figures,) = _snapshot(conn).queues
    assert figures.stale_heartbeats == 1
    assert figures.dispatches_total == 4
    assert figures.outcomes_total == {"succeeded": 1, "errored": 1, "lost": 0, "cancelled": 0}
    assert figures.duration_count == 2
    assert 102 < figures.duration_sum_seconds < 104
    le = dict(zip(DURATION_BOUNDS, figures.duration_buckets, strict=False))
    assert (le[1], le[5], le[60], le[300]) == (0, 1, 1, 2)


def test_lake_check_and_backup_outcomes_reach_the_snapshot(env, conn, inv):
    empty = _snapshot(conn)
    assert empty.lake_check is None and empty.backup is None

    check = inv("lake.check", "-e", env.name)
    assert check.returncode == 0, check.stderr
    backup = inv("db.backup", "-e", env.name)
    assert backup.returncode == 0, backup.stderr

    snapshot = _snapshot(conn)
    assert snapshot.lake_check.in_sync and snapshot.lake_check.age_seconds < 60
    assert snapshot.backup.kind == "logical" and snapshot.backup.verified is None
    assert snapshot.backup.name in backup.stdout

    verify = inv("db.verify", "-e", env.name, "latest")
    assert verify.returncode == 0, verify.stderr
    assert _snapshot(conn).backup.verified is True
