"""An idle foreman sleeps: its own rounds wake nobody, a job inserted wakes it at once.

The leader sleeps on NOTIFY `refinery_jobs` between rounds. Its rounds run an `INSERT … SELECT`
of follow-up jobs that usually inserts nothing; the statement trigger notified even then, so
an idle leader woke itself round after round and kept a core and its database busy."""

from __future__ import annotations

import select
import time

import pytest

from common import db
from tests.support.foreman import enqueue, fetch, make_foreman_env, start_foreman, wait_until

pytestmark = pytest.mark.integration
IDLE_SECONDS = 3.0


def _notifications(listener, seconds: float) -> int:
    count, deadline = 0, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if select.select([listener], [], [], left)[0]:
            listener.poll()
            count += len(listener.notifies)
            listener.notifies.clear()
    return count


def test_an_idle_leader_wakes_nobody_and_an_inserted_job_wakes_it(
    make_env, session_dirs, processes
):
    # Ticks of 0.3 s: ten rounds and reconciles in the idle window.
    env = make_foreman_env(make_env, "idleforeman", executor={"kind": "null"})
    foreman = start_foreman(env, session_dirs["logs"])
    processes.append(foreman)
    wait_until(lambda: fetch(env, "SELECT role FROM foreman_heartbeats WHERE pid = %s",
                             (foreman.pid,)) == [("leader",)],
               timeout=30, what="the foreman never led")  # fmt: skip
    listener = db.connect(env, autocommit=True)
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN refinery_jobs")
        rounds_before = _rounds(env, foreman.pid)
        assert _notifications(listener, IDLE_SECONDS) == 0, "an idle round notified"
        assert _rounds(env, foreman.pid) > rounds_before, "the leader ran no round meanwhile"

        [job_id] = enqueue(env, "test_record")
        assert _notifications(listener, 2.0) == 1
        state = lambda: fetch(env, "SELECT state FROM jobs WHERE id = %s", (job_id,))  # noqa: E731
        wait_until(lambda: state() != [("pending",)], timeout=10,
                   what="the woken leader dispatched nothing")  # fmt: skip
    finally:
        listener.close()


def _rounds(env, pid: int) -> object:
    """The leader's last heartbeat: it moves only when the leader goes round its loop."""
    return fetch(env, "SELECT beat_at FROM foreman_heartbeats WHERE pid = %s", (pid,))[0][0]
