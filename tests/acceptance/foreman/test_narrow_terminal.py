"""At 80 columns the tables of `inv jobs.status` and `inv jobs.top` fold long cells and
headers onto more lines; nothing is cut short with an ellipsis."""

from __future__ import annotations

import pytest

from tests.support.foreman import enqueue, fetch, make_foreman_env
from tests.support.inv import run_inv, table_columns

pytestmark = pytest.mark.acceptance
REASON = "gave up after 3 attempts: RuntimeError: disk full on /lake/raw/core-run-1/S1_R1.fastq.gz"


def _with_one_failure(make_env, name):
    env = make_foreman_env(make_env, name)
    (job_id,) = enqueue(env, "test_record")
    fetch(env, "UPDATE jobs SET state = 'failed', attempt = 3, ended_at = now(), "
               "failure_reason = %s WHERE id = %s RETURNING id", (REASON, job_id))  # fmt: skip
    return env, job_id


def test_jobs_status_at_80_columns_shows_every_header_and_reason_whole(make_env):
    env, job_id = _with_one_failure(make_env, "narrow")
    result = run_inv("jobs.status", "-e", env.name, columns=80)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    failures = table_columns(result.stdout, "recent failures")
    assert [header for header, _ in failures] == ["job", "kind", "attempts", "ended", "reason"]
    assert failures[0][1] == str(job_id)
    assert failures[4][1] == REASON.replace(" ", "")


def test_jobs_top_at_80_columns_shows_every_header_whole(make_env):
    env, _ = _with_one_failure(make_env, "narrowtop")
    result = run_inv("jobs.top", "-e", env.name, "--once", columns=80)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    queues = table_columns(result.stdout, "queues")
    assert [header for header, _ in queues] == [
        "queue", "kind", "pending", "oldestpending", "dispatched", "running", "capacity",
        "stale", "errored", "failed", "done",
    ]  # fmt: skip
    reasons = table_columns(result.stdout, "failed jobs by reason")
    assert dict(reasons)["reason"] == "gaveupafter<n>attempts:RuntimeError:diskfullon<path>"
