"""A claim is committed only once everything the foreman decides about its submissions is
settled: a job whose submission cannot be prepared stays pending with its attempt unspent."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from common import db
from foreman.dispatch import dispatch_pending_jobs
from foreman.executors.local import LocalExecutor
from tests.support.foreman import enqueue, fetch, make_foreman_env

pytestmark = pytest.mark.integration


def test_a_submission_that_cannot_be_prepared_rolls_the_claim_back(make_env):
    env = make_foreman_env(make_env, "unprepared")
    job_ids = enqueue(env, "test_record", count=2)  # the executor runs 2 at once
    # The executor settings a file with `memory_tiers_mb = "abc"` gave before the loader
    # refused it; built by hand because load_environment now refuses such a file.
    broken = dataclasses.replace(
        env,
        executor=SimpleNamespace(kind="local", concurrency=2, queues={}, memory_tiers_mb="abc"),
    )
    executor = LocalExecutor(env)
    conn = db.connect(env)
    try:
        with pytest.raises(ValueError):
            dispatch_pending_jobs(conn, broken, executor)
        assert conn.closed == 0
        # The same jobs dispatch normally once the settings are right.
        assert dispatch_pending_jobs(conn, env, executor) == 2
    finally:
        conn.close()
        executor.close()
    rows = fetch(env, "SELECT attempt FROM job_attempts WHERE job_id = ANY(%s)", (job_ids,))
    assert sorted(rows) == [(1,)] * 2  # the failed round spent no attempt


def test_a_failed_preparation_leaves_the_jobs_pending_and_untouched(make_env):
    env = make_foreman_env(make_env, "untouched")
    (job_id,) = enqueue(env, "test_record")
    broken = dataclasses.replace(
        env, executor=SimpleNamespace(kind="local", concurrency=1, queues={}, memory_tiers_mb="x")
    )
    conn = db.connect(env)
    try:
        with pytest.raises(ValueError):
            dispatch_pending_jobs(conn, broken, LocalExecutor(env))
    finally:
        conn.close()
    assert fetch(
        env, "SELECT state, attempt, executor, dispatched_at FROM jobs WHERE id = %s", (job_id,)
    ) == [("pending", 0, None, None)]
