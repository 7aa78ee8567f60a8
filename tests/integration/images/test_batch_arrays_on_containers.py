"""Array jobs on real containers: the workers image, the Docker engine, moto's Batch over HTTP,
the session's PostgreSQL, driven by `inv jobs.survey` and a real `python -m foreman run`.

moto runs every child of an array as its own container, named `<job name>-<parent id>-<index>`,
and tells it only `AWS_BATCH_JOB_ID=<parent id>:<index>`; the worker finds its attempt from that
index in the mapping the foreman recorded with the claim, and records the Batch job it ran as
beside the attempt. One child is stopped with `docker kill` mid-download; Batch reports that
child failed and the foreman retries that job alone. A second test puts a loopback proxy in
front of the emulator that answers a share of Batch calls as throttled, and measures from the
proxy's side the rate at which the foreman called each API.
"""

from __future__ import annotations

import json
import time

import boto3
import docker
import pytest

from foreman.executors.batch_budget import TokenBucket
from tests.support.batch_cloud import random_delivery, upload
from tests.support.foreman import fetch, wait_until
from tests.support.throttling_proxy import ThrottlingProxy

pytestmark = pytest.mark.integration

SMALL = 4 * 1024
BIG = 64 * 1024 * 1024  # still downloading when its container is killed
PAIRED_SAMPLES = 11  # 22 download jobs, claimed together into one array
KILLED_SAMPLE = 4  # its first mate is the big file


def _attempts(env) -> dict[int, list[tuple]]:
    """Every job's attempts: (attempt, tier, outcome, executor's id, id the worker ran as)."""
    rows = fetch(
        env,
        "SELECT job_id, attempt, memory_tier, outcome, executor_job_id, worker_executor_job_id"
        " FROM job_attempts ORDER BY job_id, attempt",
    )
    attempts: dict[int, list[tuple]] = {}
    for job_id, *attempt in rows:
        attempts.setdefault(job_id, []).append(tuple(attempt))
    return attempts


def _container_of(executor_job_id: str, job_name: str):
    """The running container moto started for a Batch job (moto's naming)."""
    name = f"{job_name}-{executor_job_id.replace(':', '-')}"
    engine = docker.from_env()
    try:
        found = engine.containers.list(filters={"name": name})
        return next((c for c in found if c.name == name), None)
    finally:
        engine.close()


def test_an_array_of_22_children_runs_each_childs_own_job_and_a_killed_child_alone(
    make_cloud, moto_server, foreman_process, tmp_path
):
    cloud = make_cloud(
        "arrays",
        endpoint_url=moto_server.endpoint_url,
        application="no_op",
        overrides={"executor": {"queues": {"spot": 24, "large_memory": 1}}},
    )
    samples = [[SMALL, SMALL] for _ in range(PAIRED_SAMPLES)]
    samples[KILLED_SAMPLE - 1][0] = BIG
    root = cloud.survey(upload(random_delivery(tmp_path / "delivery", samples), cloud.inbox, "d/"))
    foreman_process(cloud.run_foreman())

    def big_download_running():
        rows = fetch(
            cloud.env,
            "SELECT j.id, j.executor_job_id, s.job_name FROM jobs j"
            " JOIN files f ON f.id = (j.payload->>'file_id')::bigint"
            " JOIN job_submission_members m ON m.job_id = j.id AND m.attempt = j.attempt"
            " JOIN job_submissions s ON s.token = m.token"
            " WHERE j.kind = 'download' AND f.name LIKE %s AND j.state = 'running'"
            " AND j.attempt = 1 AND j.executor_job_id IS NOT NULL",
            (f"%S{KILLED_SAMPLE}_R1.fastq.gz",),
        )
        return rows[0] if rows else None

    killed_job, killed_child, array_name = wait_until(
        big_download_running, timeout=300, what="the big download started in its array"
    )
    container = wait_until(
        lambda: _container_of(killed_child, array_name),
        timeout=10,
        what=f"the container of {killed_child} found",
    )
    container.kill()
    assert fetch(cloud.env, "SELECT state FROM jobs WHERE id = %s", (killed_job,)) == [("running",)]

    progress = cloud.wait_for_tree(root, timeout=600)
    assert progress.failed == [] and progress.succeeded == progress.total

    # The downloads were claimed together and went as one array of 22, whose children are
    # `<parent>:<index>`, each index the one the mapping gives that download's first attempt.
    [(token, size, parent)] = fetch(
        cloud.env, "SELECT token::text, size, executor_job_id FROM job_submissions WHERE size >= 20"
    )
    assert size == 2 * PAIRED_SAMPLES and ":" not in parent
    members = fetch(
        cloud.env,
        "SELECT m.array_index, m.job_id, m.attempt, j.kind FROM job_submission_members m"
        " JOIN jobs j ON j.id = m.job_id WHERE m.token = %s ORDER BY m.array_index",
        (token,),
    )
    assert [index for index, *_ in members] == list(range(size))
    assert {(kind, attempt) for *_, attempt, kind in members} == {("download", 1)}
    downloads = {job_id for (job_id,) in fetch(cloud.env, "SELECT id FROM jobs"
                                                          " WHERE kind = 'download'")}  # fmt: skip
    assert {job_id for _, job_id, *_ in members} == downloads and killed_job in downloads

    attempts = _attempts(cloud.env)
    for index, job_id, _, _ in members:
        first = attempts[job_id][0]
        # The foreman's record of the child, and what the child's own worker said it ran as.
        assert first[3] == first[4] == f"{parent}:{index}", (job_id, first)
    # Every worker ran as the Batch job the foreman recorded for its attempt (lone jobs too).
    # (A child may finish before the foreman records its submission's answer: still recorded.)
    unmatched = [
        (job, a) for job, tried in attempts.items() for a in tried if not a[3] or a[3] != a[4]
    ]
    assert unmatched == []

    # The killed child was retried alone, as a lone job on the next tier; no sibling was.
    assert [(a, tier, outcome) for a, tier, outcome, *_ in attempts[killed_job]] == [
        (1, 0, "lost"),
        (2, 1, "succeeded"),
    ]
    retry = attempts[killed_job][1][3]
    assert ":" not in retry
    assert fetch(cloud.env, "SELECT size FROM job_submissions WHERE executor_job_id = %s",
                 (retry,)) == [(1,)]  # fmt: skip
    for job_id in downloads - {killed_job}:
        assert [(a, tier, outcome) for a, tier, outcome, *_ in attempts[job_id]] == [
            (1, 0, "succeeded")
        ], job_id
    batch = boto3.client("batch")
    [described] = batch.describe_jobs(jobs=[killed_child])["jobs"]
    assert described["status"] == "FAILED"

    # Each original is in the lake exactly once, nothing half-written beside them.
    stored = fetch(cloud.env, "SELECT lake_key, size_bytes FROM files WHERE kind = 'original'")
    assert len(stored) == 2 * PAIRED_SAMPLES
    assert sorted(size for _, size in stored) == sorted(s for sample in samples for s in sample)
    pages = boto3.client("s3").get_paginator("list_objects_v2")
    listed = [item["Key"] for page in pages.paginate(Bucket=cloud.env.lake.bucket)
              for item in page.get("Contents", [])]  # fmt: skip
    raw = [key for key in listed if key.startswith("raw/")]
    assert sorted(raw) == sorted(key for key, _ in stored)
    checked = cloud.inv("lake.check", "-e", cloud.env.name, "--checksums")
    assert checked.returncode == 0, checked.stdout + checked.stderr


RATES = {"SubmitJob": 2.0, "DescribeJobs": 2.0, "ListJobs": 4.0}
PATHS = {"/v1/submitjob": "SubmitJob", "/v1/describejobs": "DescribeJobs",
         "/v1/listjobs": "ListJobs"}  # fmt: skip


def _busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one second (a sliding window)."""
    times = sorted(times)
    busiest, start = 0, 0
    for end, arrived in enumerate(times):
        while arrived - times[start] > 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


def test_arrays_through_throttling_run_every_job_once_and_the_budget_holds_the_call_rate(
    make_cloud, moto_server, foreman_process, tmp_path
):
    # 30% of Batch calls throttled, and the first array's SubmitJob throttled until
    # botocore's own retries run out (the foreman puts its attempts back unspent).
    proxy = ThrottlingProxy(moto_server.endpoint_url, share=0.3, throttle_first=6,
                            force_when=b'"arrayProperties"').start()  # fmt: skip
    try:
        cloud = make_cloud(
            "arrthrottle",
            endpoint_url=proxy.endpoint_url,
            application="no_op",
            overrides={
                "executor": {"queues": {"spot": 8, "large_memory": 1}},
                "batch": {"array_size": 3, "api_rates": RATES},
                # Status read every 0.3 s wants more DescribeJobs calls than the budget allows.
                "foreman": {"reconcile_seconds": 0.3},
            },
        )
        root = cloud.survey(
            upload(random_delivery(tmp_path / "delivery", [[SMALL, SMALL]] * 3), cloud.inbox, "d/")
        )
        started = time.monotonic()
        foreman_process(cloud.run_foreman())
        progress = cloud.wait_for_tree(root, timeout=420)
        status = cloud.inv("jobs.status", "-e", cloud.env.name, "--json")
    finally:
        proxy.stop()

    assert progress.failed == [] and progress.succeeded == progress.total == 1 + 6 + 3
    # Arrays were in play: the six downloads as arrays of three (beside lone jobs).
    submitted = "SELECT size FROM job_submissions WHERE executor_job_id IS NOT NULL"
    sizes = [size for (size,) in fetch(cloud.env, submitted)]
    assert sizes.count(3) >= 2 and 1 in sizes, sizes
    # Throttling cost no attempt: every job ran once, on its first tier.
    assert fetch(cloud.env, "SELECT DISTINCT attempt, memory_tier FROM jobs") == [(1, 0)]
    assert fetch(cloud.env, "SELECT count(*), count(*) FILTER (WHERE outcome = 'succeeded')"
                            " FROM job_attempts") == [(10, 10)]  # fmt: skip
    counts = proxy.state.counts
    assert counts["throttled /v1/submitjob"] >= 6 and counts["throttled /v1/describejobs"] > 0
    # The first array's call ran out of retries; its attempts waited for the next round.
    assert "batch unavailable" in (cloud.workdir / "foreman.log").read_text()

    # The budget held: in no second did an API see more than its rate plus the bucket's burst.
    busiest = {
        api: _busiest_second([t for t in proxy.state.arrivals[path] if t >= started])
        for path, api in PATHS.items()
    }
    for api, rate in RATES.items():
        assert busiest[api] <= rate + TokenBucket(rate).capacity, busiest

    # The leader's budget, calls and throttles, as the operator sees them.
    assert status.returncode == 0, status.stderr
    [leader] = [f for f in json.loads(status.stdout)["foremen"] if f["role"] == "leader"]
    usage = leader["api_usage"]
    assert {api: usage[api]["rate_per_second"] for api in RATES} == RATES
    assert usage["SubmitJob"]["calls_total"] > 0 and usage["SubmitJob"]["throttled_total"] >= 6
    assert usage["DescribeJobs"]["calls_total"] > 0
    # The foreman wanted more status than its budget: calls waited, none went over the rate.
    assert usage["DescribeJobs"]["waited_seconds_total"] > 0
    assert sum(u["throttled_total"] for u in usage.values()) >= counts["throttled /v1/submitjob"]
