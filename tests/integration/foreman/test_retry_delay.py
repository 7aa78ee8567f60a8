"""Errored jobs wait before their next attempt, longer after every attempt, up to a cap;
a manual retry starts the delay over, and a permanent failure is never retried."""

from __future__ import annotations

import pytest

from common import db
from common.settings.jobs import ForemanSettings
from foreman.dispatch import settle_errored_jobs
from foreman.job_admin import retry_jobs
from tests.support.foreman import enqueue, fetch, make_foreman_env

pytestmark = pytest.mark.integration

SETTINGS = ForemanSettings(retry_delay_seconds=60, retry_delay_max_seconds=100)


def _errored(env, job_id: int, *, attempt: int, ended_seconds_ago: float) -> None:
    fetch(
        env,
        "UPDATE jobs SET state = 'errored', attempt = %s, "
        "ended_at = now() - make_interval(secs => %s) WHERE id = %s RETURNING id",
        (attempt, ended_seconds_ago, job_id),
    )


def _settle(env) -> tuple[int, int]:
    conn = db.connect(env)
    try:
        return settle_errored_jobs(conn, env, SETTINGS)
    finally:
        conn.close()


def _state(env, job_id: int) -> tuple[str, int]:
    return fetch(env, "SELECT state, memory_tier FROM jobs WHERE id = %s", (job_id,))[0]


def test_an_errored_job_waits_its_delay_which_doubles_per_attempt_up_to_the_cap(make_env):
    env = make_foreman_env(make_env, "retrydelay")
    (job_id,) = enqueue(env, "test_record")

    _errored(env, job_id, attempt=1, ended_seconds_ago=50)
    assert _settle(env) == (0, 0)
    assert _state(env, job_id) == ("errored", 0)  # 60 s after the first attempt, not 50
    _errored(env, job_id, attempt=1, ended_seconds_ago=61)
    assert _settle(env) == (1, 0)
    assert _state(env, job_id) == ("pending", 1)

    _errored(env, job_id, attempt=2, ended_seconds_ago=90)
    assert _settle(env) == (0, 0)  # 120 s after a second attempt, capped at 100
    _errored(env, job_id, attempt=2, ended_seconds_ago=101)
    assert _settle(env) == (1, 0)
    assert _state(env, job_id) == ("pending", 2)


def test_the_last_attempt_fails_at_once_without_waiting(make_env):
    env = make_foreman_env(make_env, "retrylast")
    (job_id,) = enqueue(env, "test_record")
    _errored(env, job_id, attempt=3, ended_seconds_ago=0)  # max_attempts is 3
    assert _settle(env) == (0, 1)
    assert _state(env, job_id)[0] == "failed"


def test_a_permanent_failure_fails_at_once_with_its_reason(make_env):
    env = make_foreman_env(make_env, "retrypermanent")
    (job_id,) = enqueue(env, "test_record")
    fetch(
        env,
        "UPDATE jobs SET state = 'errored', attempt = 1, ended_at = now(), permanent = true, "
        "failure_reason = 'MalformedFastq: r1.fq: no reads' WHERE id = %s RETURNING id",
        (job_id,),
    )
    assert _settle(env) == (0, 1)
    state, attempt, reason = fetch(
        env, "SELECT state, attempt, failure_reason FROM jobs WHERE id = %s", (job_id,)
    )[0]
    assert (state, attempt) == ("failed", 1)
    assert reason == "not retried, it cannot succeed: MalformedFastq: r1.fq: no reads"


def test_a_manual_retry_starts_the_delay_over(make_env):
    env = make_foreman_env(make_env, "retryreset")
    (job_id,) = enqueue(env, "test_record")
    _errored(env, job_id, attempt=3, ended_seconds_ago=0)
    assert _settle(env) == (0, 1)  # out of attempts: failed
    conn = db.connect(env)
    try:
        assert retry_jobs(conn, job_id=job_id, attempts=3) == [job_id]
    finally:
        conn.close()
    # Its fourth attempt is the first since the retry: 60 s, not 60 × 2^3 (capped at 100).
    _errored(env, job_id, attempt=4, ended_seconds_ago=61)
    assert _settle(env) == (1, 0)
    assert _state(env, job_id)[0] == "pending"
