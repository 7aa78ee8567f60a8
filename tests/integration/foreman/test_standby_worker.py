"""The local executor's spare worker: started before its job, handed the job by one line, and
gone when its foreman stops (foreman.executors.local, workers.standby)."""

from __future__ import annotations

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

    (second,) = enqueue(env, "test_sleep_then_record", seconds=0)
    ran_as = wait_until(lambda: _finished(env, second), timeout=60,
                        what="the second job never succeeded")  # fmt: skip
    assert int(ran_as.split(":")[0]) in spares  # it ran in a process started before it
    assert fetch(env, "SELECT attempt FROM test_completions WHERE job_id = %s", (second,)) == [(1,)]
    # Its output went to the attempt's own log, as a cold-started worker's does.
    assert f"job {second}" in worker_log_path(env, second, 1).read_text()

    # As many spares wait again; stopping the foreman ends them, having run nothing.
    wait_until(lambda: len(_standby_pids(env.name) - spares) == 1, timeout=30,
               what="no new spare")  # fmt: skip
    foreman.terminate()
    foreman.wait(timeout=30)
    wait_until(lambda: not _standby_pids(env.name), timeout=30,
               what="a spare outlived its foreman")  # fmt: skip
    assert fetch(env, "SELECT count(*) FROM test_completions") == [(SPARES_AFTER + 1,)]
