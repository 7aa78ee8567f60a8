"""The local executor's spare workers: started before their job while none of its workers
runs, handed the job by one line, and gone when their foreman stops; ended workers reaped
(foreman.executors.local, workers.standby)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from common.inputs import is_digits
from foreman.executors.local import SPARES, SPARES_AFTER, worker_log_path
from tests.support.foreman import enqueue, fetch, make_foreman_env, start_foreman, wait_until

pytestmark = pytest.mark.integration


def _standby_pids(env_name: str) -> set[int]:
    """Processes of this machine running `-m workers standby` for `env_name`."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not is_digits(proc.name):
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[1:4] == [b"-m", b"workers", b"standby"] and (
            f"REFINERY_ENVIRONMENT={env_name}".encode() in environ
        ):
            found.add(int(proc.name))
    return found


def _zombies_of(parent: int) -> list[int]:
    """Children of `parent` that have exited and were never waited for."""
    found = []
    for proc in Path("/proc").iterdir():
        if not is_digits(proc.name):
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == parent:
            found.append(int(proc.name))
    return found


def _running_in(env, job_id) -> int | None:
    """The pid of the worker running `job_id`, while it runs."""
    rows = fetch(env, "SELECT state, executor_job_id FROM jobs WHERE id = %s", (job_id,))
    state, executor_job_id = rows[0]
    return int(executor_job_id.split(":")[0]) if state == "running" else None


def _finished(env, job_id):
    rows = fetch(env, "SELECT state, executor_job_id FROM jobs WHERE id = %s", (job_id,))
    return rows[0][1] if rows[0][0] == "succeeded" else None


def test_the_next_job_runs_in_the_spare_started_before_it(make_env, session_dirs, processes):
    env = make_foreman_env(make_env, "standby")
    foreman = start_foreman(env, session_dirs["logs"])
    processes.append(foreman)
    for number in range(1, SPARES_AFTER + 1):
        (early,) = enqueue(env, "test_sleep_then_record", seconds=0)
        wait_until(lambda job=early: _finished(env, job), timeout=60, what="a job never succeeded")
        if number < SPARES_AFTER:  # one job alone starts no spare
            assert not _standby_pids(env.name)
    # After SPARES_AFTER workers the executor keeps SPARES spares, which wait for a job.
    spares = wait_until(lambda: len(_standby_pids(env.name)) == SPARES and _standby_pids(env.name),
                        timeout=30, what=f"{SPARES} spares never waited")  # fmt: skip

    (second,) = enqueue(env, "test_sleep_then_record", seconds=3)
    running = wait_until(lambda: _running_in(env, second), timeout=60,
                         what="the second job never ran")  # fmt: skip
    assert running in spares  # it runs in a process started before it
    # While it runs no spare is started beside it (the spare running it keeps its argv).
    started_beside = []
    while _running_in(env, second):
        started_beside.append(_standby_pids(env.name) - spares)
        time.sleep(0.2)
    assert len(started_beside) >= 5 and not any(started_beside), started_beside
    wait_until(lambda: _finished(env, second), timeout=60, what="the second job never succeeded")
    assert fetch(env, "SELECT attempt FROM test_completions WHERE job_id = %s", (second,)) == [(1,)]
    # Its output went to the attempt's own log, as a cold-started worker's does.
    assert f"job {second}" in worker_log_path(env, second, 1).read_text()

    # Once none runs, as many spares wait again and the worker that ended has been reaped
    # (no zombie left under the foreman); stopping the foreman ends them, having run nothing.
    wait_until(lambda: len(_standby_pids(env.name) - spares) == 1, timeout=30,
               what="no new spare")  # fmt: skip
    wait_until(lambda: not _zombies_of(foreman.pid), timeout=30,
               what="an ended worker was never reaped")  # fmt: skip
    foreman.terminate()
    foreman.wait(timeout=30)
    wait_until(lambda: not _standby_pids(env.name), timeout=30,
               what="a spare outlived its foreman")  # fmt: skip
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(SPARES_AFTER + 1,)]
