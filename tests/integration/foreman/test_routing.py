"""Routing in SQL: new jobs go to their pool before they are claimed, retries follow their tier."""

from __future__ import annotations

import pytest

from common import db
from common.settings.jobs import ForemanSettings
from foreman.dispatch import dispatch_pending_jobs, settle_errored_jobs
from foreman.executors.null import NullExecutor
from foreman.jobs import enqueue_job
from tests.support.foreman import fetch

pytestmark = pytest.mark.integration


@pytest.fixture
def routed_env(make_env):
    return make_env(
        "routed",
        executor={
            "kind": "null",
            "memory_tiers_mb": [4096, 16384, 65536],
            "queues": {"spot": 10, "large_memory": 2},
        },
        routing={"default_queue": "spot", "memory_queues": {"large_memory": 16384}},
    )


def test_new_jobs_are_routed_then_a_retry_moves_to_the_large_memory_pool(routed_env):
    conn = db.connect(routed_env)
    try:
        ids = [enqueue_job(conn, "download", {"file_id": n})[0] for n in range(3)]
        big = enqueue_job(conn, "process", {"application": "no_op"}, memory_tier=2)[0]
        conn.commit()
        executor = NullExecutor()
        assert dispatch_pending_jobs(conn, routed_env, executor) == 4
        rows = dict(fetch(routed_env, "SELECT id, queue FROM jobs"))
        assert [rows[i] for i in ids] == ["spot"] * 3
        assert rows[big] == "large_memory"

        # The first download errors: its retry goes one tier up, onto the large-memory pool.
        fetch(
            routed_env,
            "UPDATE jobs SET state = 'errored', ended_at = now() WHERE id = %s RETURNING id",
            (ids[0],),
        )
        settings = ForemanSettings(retry_delay_seconds=0)
        assert settle_errored_jobs(conn, routed_env, settings) == (1, 0)
        assert fetch(routed_env, "SELECT state, memory_tier, queue FROM jobs WHERE id = %s",
                     (ids[0],)) == [("pending", 1, "large_memory")]  # fmt: skip
    finally:
        conn.close()


def test_a_tier_past_the_last_is_routed_as_the_last(routed_env):
    # A job whose retries went past the environment's tiers (its tiers were shortened since)
    # runs where the largest tier runs: the SQL clamps the tier, not Python.
    conn = db.connect(routed_env)
    try:
        job_id = enqueue_job(conn, "process", {"application": "no_op"}, memory_tier=5)[0]
        conn.commit()
        assert dispatch_pending_jobs(conn, routed_env, NullExecutor()) == 1
        assert fetch(routed_env, "SELECT queue FROM jobs WHERE id = %s", (job_id,)) == [
            ("large_memory",)
        ]
    finally:
        conn.close()


def test_an_environment_without_routing_leaves_jobs_on_their_queue(make_env):
    env = make_env("unrouted", executor={"kind": "null"})
    conn = db.connect(env)
    try:
        job_id = enqueue_job(conn, "download", {"file_id": 1})[0]
        conn.commit()
        assert dispatch_pending_jobs(conn, env, NullExecutor()) == 1
        assert fetch(env, "SELECT queue FROM jobs WHERE id = %s", (job_id,)) == [("default",)]
    finally:
        conn.close()


def test_a_job_enqueued_between_routing_and_claim_waits_for_the_next_pass(routed_env):
    # A worker's commit can land between the foreman's routing and its claim. Here the database
    # plays that worker: the routing statement's own commit brings one more unrouted job
    # (a trigger that fires once), exactly the state such a commit leaves.
    conn = db.connect(routed_env)
    try:
        early = enqueue_job(conn, "download", {"file_id": 1})[0]
        conn.commit()
        fetch(routed_env, """
            CREATE TABLE late_enqueue_done (done boolean);
            CREATE FUNCTION late_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM late_enqueue_done) THEN
                    INSERT INTO late_enqueue_done VALUES (true);
                    INSERT INTO jobs (kind, queue, payload)
                    VALUES ('download', 'default', '{"late": 1}');
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER late_enqueue AFTER UPDATE ON jobs
                FOR EACH STATEMENT EXECUTE FUNCTION late_enqueue();
            SELECT 1""")  # fmt: skip
        executor = NullExecutor()
        assert dispatch_pending_jobs(conn, routed_env, executor) == 1
        late = fetch(routed_env, "SELECT id FROM jobs WHERE payload->>'late' = '1'")[0][0]
        # Never claimed from the unrouted queue: on Batch it names no job queue of the stack.
        assert fetch(routed_env, "SELECT id, state, queue FROM jobs ORDER BY id") == [
            (early, "dispatched", "spot"),
            (late, "pending", "default"),
        ]
        assert dispatch_pending_jobs(conn, routed_env, executor) == 1
        assert fetch(routed_env, "SELECT state, queue, attempt FROM jobs WHERE id = %s",
                     (late,)) == [("dispatched", "spot", 1)]  # fmt: skip
    finally:
        conn.close()
