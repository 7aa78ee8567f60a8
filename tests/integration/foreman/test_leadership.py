"""Two foremen on one database: one leads, none double-dispatches, the standby takes over."""

from __future__ import annotations

import collections
import signal

import pytest

from foreman.service import foreman_pid, start_foreman_background, stop_foreman
from tests.support.foreman import fetch, make_foreman_env, start_foreman, wait_until

pytestmark = pytest.mark.integration
JOBS = 2000


def _role_of(env, pid):
    rows = fetch(env, "SELECT role FROM foreman_heartbeats WHERE pid = %s", (pid,))
    return rows[0][0] if rows else None


def test_standby_takes_over_when_the_leader_is_killed_and_no_job_is_dispatched_twice(
    make_env, session_dirs, processes, monkeypatch, tmp_path
):
    record = tmp_path / "null-submissions.txt"
    monkeypatch.setenv("REFINERY_NULL_EXECUTOR_RECORD", str(record))
    # Small batches keep the leader busy long enough to be killed halfway through.
    env = make_foreman_env(make_env, "twoforemen", executor={"kind": "null"}, batch_size=2)
    first = start_foreman(env, session_dirs["logs"], "first")
    processes.append(first)
    wait_until(lambda: _role_of(env, first.pid) == "leader", timeout=30, what="no leader")
    second = start_foreman(env, session_dirs["logs"], "second")
    processes.append(second)
    wait_until(lambda: _role_of(env, second.pid) == "standby", timeout=30, what="no standby")

    fetch(env, "INSERT INTO jobs (kind, payload) SELECT 'process', '{}' "
               "FROM generate_series(1, %s) RETURNING id", (JOBS,))  # fmt: skip

    def dispatched():
        return fetch(env, "SELECT count(*) FROM jobs WHERE state = 'dispatched'")[0][0]

    wait_until(lambda: dispatched() >= 200, timeout=30, what="the leader dispatched nothing")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert dispatched() < JOBS, "the leader finished before it was killed; the test proves nothing"

    wait_until(lambda: _role_of(env, second.pid) == "leader", timeout=30,
               what="the standby never took over")  # fmt: skip
    assert _role_of(env, first.pid) == "stopped"  # the new leader retired the dead one
    wait_until(
        lambda: fetch(env, "SELECT count(*) FROM jobs WHERE state = 'dispatched' "
                           "AND executor_job_id IS NOT NULL")[0][0] == JOBS,
        timeout=60, what="the standby did not dispatch the rest",
    )  # fmt: skip

    submissions = [tuple(map(int, line.split())) for line in record.read_text().splitlines()]
    by_attempt = collections.Counter((job_id, attempt) for job_id, attempt, _ in submissions)
    assert max(by_attempt.values()) == 1, "an attempt was submitted twice"
    assert {pid for *_, pid in submissions} == {first.pid, second.pid}
    # A job submitted more than once can only be one the killed leader claimed but never
    # recorded: its first attempt is then marked lost and the job submitted again.
    rows = fetch(env, "SELECT id, attempt FROM jobs")
    assert len(rows) == JOBS
    resubmitted = [job_id for job_id, attempt in rows if attempt > 1]
    assert len(resubmitted) <= 2  # at most one claimed batch
    for job_id in resubmitted:
        assert fetch(env, "SELECT outcome FROM job_attempts WHERE job_id = %s AND attempt = 1",
                     (job_id,)) == [("lost",)]  # fmt: skip
    recorded = fetch(env, "SELECT count(*), count(DISTINCT job_id) FROM job_attempts")[0]
    assert recorded == (JOBS + len(resubmitted), JOBS)


def test_background_service_starts_once_and_stops_by_pid(make_env, processes):
    env = make_foreman_env(make_env, "service")
    assert foreman_pid(env) is None
    pid = start_foreman_background(env)
    try:
        assert start_foreman_background(env) == pid  # idempotent: no second foreman
        assert foreman_pid(env) == pid
        wait_until(lambda: _role_of(env, pid) == "leader", timeout=30, what="no leader beat")
    finally:
        assert stop_foreman(env) is True
    assert foreman_pid(env) is None
    assert _role_of(env, pid) == "stopped"
    assert stop_foreman(env) is False
