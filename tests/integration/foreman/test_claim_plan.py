"""Every query the foreman runs on each pass reads `jobs` through an index, on a long queue.

The cost curve (`inv bench.curve`) shows the cost per dispatched job staying flat from 10,000
to 1,000,000 pending jobs; this is why, checked rather than assumed. A queue of 200,000
pending jobs sits behind a history of finished ones (older, lower ids: what a sequential scan
reads first), with running, unsubmitted, errored and failed jobs beside it, and is ANALYZEd
as autovacuum would. Each query is loaded by name as production loads it, run under
EXPLAIN (ANALYZE, FORMAT JSON) with the parameters a pass gives it, and rolled back: no node
may scan `jobs` sequentially, and the claim reads no more rows than it claims.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from psycopg2.extras import Json, execute_values

from common import db
from common.environments import Environment, load_environment
from common.settings.jobs import ForemanSettings
from common.sql import query
from foreman import dispatch, submissions
from foreman.routing import UNROUTED_QUEUE, QueueRouting
from tests.support.environments import write_environment

pytestmark = pytest.mark.integration

PENDING = 200_000
NEW = 300  # pending on the unrouted queue: enqueued since the last pass
FINISHED = 60_000
FAILED = 2_000
RUNNING = 2_000
UNSUBMITTED = 50
ERRORED = 100
CLAIM = 500  # the foreman's claim batch (ForemanSettings.batch_size)
ARRAY = 10_000  # a Batch claim: one array's worth
SETTINGS = ForemanSettings()
RECONCILE = {"stale": SETTINGS.stale_after_seconds, "grace": SETTINGS.submit_grace_seconds}

FILL = """
INSERT INTO jobs (kind, queue, state, payload, attempt, executor, executor_job_id,
                  created_at, dispatched_at, started_at, ended_at, heartbeat_at)
SELECT 'process', 'spot', %(state)s, '{"application": "no_op"}', %(attempt)s,
       CASE WHEN %(attempt)s > 0 THEN 'batch' END,
       CASE WHEN %(submitted)s THEN 'parent-' || n / 1000 || ':' || mod(n, 1000) END,
       now() - interval '2 days', %(dispatched_at)s::timestamptz, %(started_at)s::timestamptz,
       %(ended_at)s::timestamptz, %(heartbeat_at)s::timestamptz
FROM generate_series(1, %(count)s) AS n
"""


def _fill(cur: Any, state: str, count: int, **columns: Any) -> None:
    values = {"attempt": 1, "submitted": False, "dispatched_at": None, "started_at": None,
              "ended_at": None, "heartbeat_at": None, **columns}  # fmt: skip
    cur.execute(FILL, {"state": state, "count": count, **values})


class LongQueue(NamedTuple):
    env: Environment
    conn: Any


@pytest.fixture(scope="module")
def long_queue(session_dirs, postgres_template) -> Iterator[LongQueue]:
    """A routed environment whose database holds the long queue (filled once per module:
    `make_env` gives a fresh database per test, and filling one takes seconds)."""
    database = f"test_{os.getpid()}_claim_plans"
    db.create_database(load_environment("template"), database, template=postgres_template)
    write_environment(session_dirs["environments"], "plans", {
        "database": {"kind": "embedded", "name": database},
        "lake": {"backend": "filesystem", "root": str(session_dirs["state"] / "lake-plans")},
        "executor": {"kind": "null", "memory_tiers_mb": [2048, 4096], "queues": {"spot": 1000}},
        "routing": {"default_queue": "spot"},
    })  # fmt: skip
    env = load_environment("plans")
    conn = db.connect(env)
    with conn.cursor() as cur:
        _fill(cur, "succeeded", FINISHED, submitted=True, ended_at="-infinity")
        _fill(cur, "failed", FAILED, attempt=3, ended_at="-infinity")
        _fill(cur, "running", RUNNING, submitted=True, heartbeat_at="now", started_at="now",
              dispatched_at="now")  # fmt: skip
        _fill(cur, "dispatched", UNSUBMITTED, dispatched_at="-infinity")
        _fill(cur, "errored", ERRORED, ended_at="now")
        _fill(cur, "pending", PENDING, attempt=0)
        cur.execute(
            "INSERT INTO jobs (kind, payload) "
            "SELECT 'process', '{\"application\": \"no_op\"}' FROM generate_series(1, %s)",
            (NEW,),
        )
        # The unsubmitted attempts belong to a submission a dead foreman left unanswered.
        cur.execute(
            "INSERT INTO job_submissions (token, executor, job_name, job_queue, job_definition,"
            " size, created_at) VALUES ('00000000-0000-0000-0000-000000000001', 'batch', 'a',"
            " 'q', 'd', %s, '-infinity')",
            (UNSUBMITTED,),
        )
        cur.execute(
            "INSERT INTO job_submission_members (token, array_index, job_id, attempt) "
            "SELECT '00000000-0000-0000-0000-000000000001', row_number() OVER (ORDER BY id) - 1,"
            " id, attempt FROM jobs WHERE state = 'dispatched'"
        )
        cur.execute("ANALYZE")
    conn.commit()
    yield LongQueue(env, conn)
    conn.close()
    db.drop_database(env, database)


def _plan(conn: Any, sql: str, params: Any = None, *, values: list[tuple] | None = None) -> dict:
    """The executed plan of `sql` (rolled back), as EXPLAIN (ANALYZE, FORMAT JSON) gives it."""
    explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + sql
    try:
        with conn.cursor() as cur:
            if values is None:
                cur.execute(explain, params)
                rows = cur.fetchall()
            else:
                rows = execute_values(cur, explain, values, page_size=len(values), fetch=True)
    finally:
        conn.rollback()
    return rows[0][0][0]["Plan"]


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _jobs_scans(plan: dict) -> list[dict]:
    return [
        node
        for node in _nodes(plan)
        if node.get("Relation Name") == "jobs" and node["Node Type"] != "ModifyTable"
    ]


def _assert_indexed(plan: dict) -> list[dict]:
    scans = _jobs_scans(plan)
    assert scans, "the query does not read jobs at all"
    kinds = [node["Node Type"] for node in scans]
    assert "Seq Scan" not in kinds, f"a sequential scan of jobs: {_described(scans)}"
    return scans


def _described(scans: list[dict]) -> list[tuple]:
    return [(n["Node Type"], n.get("Index Name"), n["Actual Rows"] * n["Actual Loops"])
            for n in scans]  # fmt: skip


def _rows_read(scans: list[dict]) -> int:
    """Rows each scan of jobs looked at: those it returned and those its filter dropped."""
    return sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        for node in scans
    )


def _routing(env: Any) -> dict[str, Any]:
    return {"routes": Json(QueueRouting.for_environment(env).as_rows()),
            "unrouted": UNROUTED_QUEUE, "max_tier": 1}  # fmt: skip


def _ids(conn: Any, state: str, count: int) -> list[tuple[int, int]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, attempt FROM jobs WHERE state = %s ORDER BY id LIMIT %s", (state, count)
        )
        rows = cur.fetchall()
    conn.rollback()
    return rows


@pytest.mark.parametrize("limit", [CLAIM, ARRAY])
def test_the_claim_reads_only_the_jobs_it_claims(long_queue, limit):
    conn = long_queue.conn
    sql = query(dispatch.__file__, "dispatch.sql", "claim_pending")
    plan = _plan(conn, sql, {"queue": "spot", "limit": limit, "executor": "null"})
    scans = _assert_indexed(plan)
    assert plan["Actual Rows"] == limit
    # the pending jobs it locks, and each one again by id for the update
    assert _rows_read(scans) <= 2 * limit


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("pending_queues", None),
        ("active_by_queue", None),
        ("active_jobs", RECONCILE),
        ("fail_exhausted", None),
    ],
)
def test_each_pass_query_reads_jobs_through_an_index(long_queue, name, params):
    conn = long_queue.conn
    plan = _plan(conn, query(dispatch.__file__, "dispatch.sql", name), params)
    scans = _assert_indexed(plan)
    # bounded by the jobs the query is about, never by the pending queue behind them
    assert _rows_read(scans) <= RUNNING + UNSUBMITTED + ERRORED + 10


def test_routing_new_jobs_reads_only_the_new_ones(long_queue):
    conn = long_queue.conn
    plan = _plan(
        conn, query(dispatch.__file__, "dispatch.sql", "route_new_jobs"), _routing(long_queue.env)
    )
    scans = _assert_indexed(plan)
    assert _rows_read(scans) <= 2 * NEW


def test_settling_errored_jobs_reads_only_the_errored_ones(long_queue):
    conn = long_queue.conn
    params = {**_routing(long_queue.env), "delay": SETTINGS.retry_delay_seconds,
              "max_delay": SETTINGS.retry_delay_max_seconds}  # fmt: skip
    plan = _plan(conn, query(dispatch.__file__, "dispatch.sql", "retry_errored"), params)
    scans = _assert_indexed(plan)
    assert _rows_read(scans) <= 2 * ERRORED


def test_the_pass_that_asks_whether_work_remains_stops_at_the_first_job(long_queue):
    conn = long_queue.conn
    plan = _plan(conn, query(dispatch.__file__, "dispatch.sql", "work_remains"))
    scans = _assert_indexed(plan)
    assert _rows_read(scans) <= 2


def test_writes_after_a_claim_find_each_job_by_its_id(long_queue):
    """Each with as many rows as a pass gives it: an executor that submits attempts one by
    one records a claim batch's ids; a throttled Batch claim releases a whole array; a
    reconcile marks every running job lost at worst."""
    conn = long_queue.conn
    claimed = _ids(conn, "pending", CLAIM)
    array = _ids(conn, "pending", ARRAY)
    running = _ids(conn, "running", RUNNING)
    cases = [
        ("submissions.sql", "record_started", [(i, a, f"x-{i}") for i, a in claimed]),
        ("dispatch.sql", "release_claims", array),
        ("dispatch.sql", "mark_lost", [(i, a, "lost") for i, a in running]),
        ("dispatch.sql", "mark_lost", [(i, a, "lost") for i, a in array]),  # an array's worth
    ]
    for file, name, values in cases:
        plan = _plan(conn, query(dispatch.__file__, file, name), values=values)
        scans = _assert_indexed(plan)
        # mark_lost looks only among the active jobs, the ones it may change
        bound = RUNNING + UNSUBMITTED if name == "mark_lost" else len(values)
        assert _rows_read(scans) <= bound, (name, _described(scans))


def test_recorded_submissions_are_settled_through_their_members(long_queue):
    conn = long_queue.conn
    token = "00000000-0000-0000-0000-000000000001"
    plan = _plan(
        conn,
        query(submissions.__file__, "submissions.sql", "record_group_submitted"),
        {"token": token, "executor_job_id": "parent-x"},
    )
    scans = _assert_indexed(plan)
    assert _rows_read(scans) <= UNSUBMITTED
    plan = _plan(
        conn,
        query(submissions.__file__, "submissions.sql", "unsubmitted"),
        {"executor": "batch", "grace": SETTINGS.submit_grace_seconds},
    )
    scans = _assert_indexed(plan)
    assert _rows_read(scans) <= UNSUBMITTED


def test_an_array_submission_reaches_its_jobs_by_id(long_queue):
    """A Batch claim of a whole array, recorded as one submission, then its id written on
    each member job: as the foreman does it, in one transaction (rolled back here)."""
    conn = long_queue.conn
    token = "00000000-0000-0000-0000-00000000000a"
    with conn.cursor() as cur:
        cur.execute(query(dispatch.__file__, "dispatch.sql", "claim_pending"),
                    {"queue": "spot", "limit": ARRAY, "executor": "batch"})  # fmt: skip
        claimed = [(row[0], row[3]) for row in cur.fetchall()]
        cur.execute(query(submissions.__file__, "submissions.sql", "record_submission"), {
            "token": token, "executor": "batch", "job_name": "array", "job_queue": "q",
            "job_definition": "d", "size": len(claimed),
        })  # fmt: skip
        execute_values(
            cur,
            query(submissions.__file__, "submissions.sql", "record_members"),
            [(token, index, job_id, attempt) for index, (job_id, attempt) in enumerate(claimed)],
            page_size=len(claimed),
        )
    plan = _plan(
        conn,
        query(submissions.__file__, "submissions.sql", "record_group_submitted"),
        {"token": token, "executor_job_id": "parent-a"},
    )
    scans = _assert_indexed(plan)
    assert _rows_read(scans) <= ARRAY, _described(scans)
