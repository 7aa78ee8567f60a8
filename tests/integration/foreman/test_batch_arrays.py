"""Array submission on moto's Batch (containers off): one SubmitJob for many attempts, each
child's attempt recorded with the claim, and a foreman killed around SubmitJob (by the
`foreman.dispatch.*` failpoints, SIGKILL from inside, no parameter) submitting nothing twice
and losing nothing once restarted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid

import boto3
import pytest

from common import db
from common.environments import REPO_ROOT
from foreman.dispatch import dispatch_pending_jobs
from foreman.executors.batch import API_ATTEMPTS, BatchExecutor
from foreman.jobs import enqueue_job, finish_attempt, get_job, start_attempt
from foreman.submissions import resolve_member
from tests.support.foreman import FAST_FOREMAN, fetch, wait_until
from tests.support.throttling_proxy import ThrottlingProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def containers_off(moto_server):
    def configure(use_docker: bool) -> None:
        request = urllib.request.Request(
            f"{moto_server.endpoint_url}/moto-api/config",
            data=json.dumps({"batch": {"use_docker": use_docker}}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()

    configure(False)
    yield
    configure(True)


@pytest.fixture
def batch_env(make_env, moto_server, containers_off):
    return _batch_env(make_env, moto_server.endpoint_url)


def _batch_env(make_env, endpoint_url: str, *, capacity: int = 100, **sections):
    """An environment whose Batch calls go to `endpoint_url`, with its queue (of `capacity`
    jobs at once) and its download definitions made on the emulator."""
    name = f"arr{uuid.uuid4().hex[:6]}"
    env = make_env(
        name,
        executor={
            "kind": "batch", "memory_tiers_mb": [1024, 2048], "queues": {"default": capacity}
        },
        aws={"region": "us-east-1", "endpoint_url": endpoint_url},
        foreman={**FAST_FOREMAN, "reconcile_seconds": 0.5, "submit_grace_seconds": 1},
        **sections,
    )  # fmt: skip
    batch = boto3.client("batch")
    role = boto3.client("iam").create_role(
        RoleName=f"{name}-service", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    batch.create_compute_environment(
        computeEnvironmentName=f"{name}-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName=f"refinery-{name}-default",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": f"{name}-ce"}],
    )
    for tier in (1024, 2048):
        batch.register_job_definition(
            jobDefinitionName=f"refinery-{name}-download-{tier}mb",
            type="container",
            containerProperties={
                "image": "busybox",
                "vcpus": 1,
                "memory": tier,
                "command": ["true"],
            },
        )
    return env


def _enqueue(env, count: int) -> list[int]:
    conn = db.connect(env)
    try:
        ids = [enqueue_job(conn, "download", {"file_id": i})[0] for i in range(count)]
        conn.commit()
    finally:
        conn.close()
    return ids


def test_attempts_sharing_a_definition_go_as_one_array_and_each_child_finds_its_job(batch_env):
    jobs = _enqueue(batch_env, 25)
    executor = BatchExecutor(batch_env)
    conn = db.connect(batch_env)
    try:
        assert dispatch_pending_jobs(conn, batch_env, executor) == 25
        usage = executor.api_usage()
        assert usage["SubmitJob"]["calls_total"] == 1
        rows = fetch(batch_env, "SELECT id, attempt, executor_job_id FROM jobs ORDER BY id")
        parents = {executor_job_id.rsplit(":", 1)[0] for _, _, executor_job_id in rows}
        assert len(parents) == 1
        [(token, size)] = fetch(batch_env, "SELECT token::text, size FROM job_submissions")
        assert size == 25
        for job_id, attempt, executor_job_id in rows:
            index = int(executor_job_id.rsplit(":", 1)[1])
            assert resolve_member(conn, token, index) == (job_id, attempt)
        assert sorted(job_id for job_id, *_ in rows) == jobs
        # Status through the parent: one DescribeJobs for all 25 children.
        described = wait_until(
            lambda: (
                (s := executor.describe_all([r[2] for r in rows]))
                and all(v.state == "succeeded" for v in s.values())
                and s
            ),
            timeout=30,
            what="moto ran the array",
        )
        assert len(described) == 25
        assert executor.api_usage()["DescribeJobs"]["calls_total"] <= 30
        assert executor.api_usage()["ListJobs"]["calls_total"] == 0
    finally:
        conn.close()
        executor.close()


@pytest.mark.slow
def test_an_array_whose_submit_job_stays_throttled_goes_back_unspent_and_goes_next_round(
    make_env, moto_server, containers_off
):
    # Every call of the first array's SubmitJob is throttled, botocore's retries included.
    proxy = ThrottlingProxy(moto_server.endpoint_url, share=0.0, throttle_first=API_ATTEMPTS,
                            force_when=b'"arrayProperties"').start()  # fmt: skip
    env = _batch_env(make_env, proxy.endpoint_url)
    jobs = _enqueue(env, 4)
    executor = BatchExecutor(env)
    conn = db.connect(env)
    try:
        assert dispatch_pending_jobs(conn, env, executor) == 0
        # API_ATTEMPTS calls in all, then the executor gave up: nothing reached Batch, the
        # claim went back pending with no attempt spent, and its mapping was dropped.
        assert proxy.state.counts["/v1/submitjob"] == API_ATTEMPTS
        assert fetch(env, "SELECT DISTINCT state, attempt FROM jobs") == [("pending", 0)]
        assert fetch(env, "SELECT count(*) FROM job_submissions") == [(0,)]
        assert executor.api_usage()["SubmitJob"]["throttled_total"] == API_ATTEMPTS

        assert dispatch_pending_jobs(conn, env, executor) == 4
        assert proxy.state.counts["/v1/submitjob"] == API_ATTEMPTS + 1
        rows = fetch(env, "SELECT id, attempt, executor_job_id FROM jobs ORDER BY id")
        assert [(job_id, attempt) for job_id, attempt, _ in rows] == [(j, 1) for j in jobs]
        assert len({executor_job_id.rsplit(":", 1)[0] for *_, executor_job_id in rows}) == 1
    finally:
        conn.close()
        executor.close()
        proxy.stop()


def _foreman(env, failpoint: str | None) -> subprocess.Popen:
    variables = {k: v for k, v in os.environ.items() if k != "REFINERY_FAILPOINTS"}
    if failpoint:
        variables["REFINERY_FAILPOINTS"] = failpoint
    return subprocess.Popen(
        [sys.executable, "-m", "foreman", "run", "-e", env.name],
        cwd=REPO_ROOT,
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize("moment", ["claimed", "submitted"])
def test_a_foreman_killed_around_submit_job_submits_each_array_exactly_once(batch_env, moment):
    _enqueue(batch_env, 12)
    killed = _foreman(batch_env, f"foreman.dispatch.{moment}=kill")
    assert killed.wait(timeout=60) == -9
    [(token, name, recorded)] = fetch(
        batch_env, "SELECT token::text, job_name, executor_job_id FROM job_submissions"
    )
    assert recorded is None  # the claim and the mapping committed; the answer never did
    queue = f"refinery-{batch_env.name}-default"
    batch = boto3.client("batch")

    def named() -> list[dict]:
        found = batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}])
        return [job for job in found["jobSummaryList"] if ":" not in job["jobId"]]

    assert len(named()) == (1 if moment == "submitted" else 0)

    restarted = _foreman(batch_env, None)
    try:
        wait_until(
            lambda: fetch(
                batch_env, "SELECT executor_job_id FROM job_submissions WHERE token = %s", (token,)
            )[0][0],
            timeout=60,
            what="the successor settled the submission",
        )
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    [parent] = named()  # submitted exactly once, whichever side of the call the crash was
    members = fetch(
        batch_env,
        "SELECT m.job_id, m.attempt, a.executor_job_id FROM job_submission_members m"
        " JOIN job_attempts a ON a.job_id = m.job_id AND a.attempt = m.attempt"
        " WHERE m.token = %s ORDER BY m.array_index",
        (token,),
    )
    assert len(members) == 12  # none lost: every attempt of the array recorded as submitted
    assert {attempt for _, attempt, _ in members} == {1}
    assert [eid for *_, eid in members] == [f"{parent['jobId']}:{i}" for i in range(12)]


def test_children_that_finished_before_their_array_was_settled_keep_their_batch_ids(batch_env):
    # The foreman dies after SubmitJob; every child runs and finishes before a successor comes
    # up and settles the submission. Their history must still name the Batch job each ran as.
    jobs = _enqueue(batch_env, 5)
    killed = _foreman(batch_env, "foreman.dispatch.submitted=kill")
    assert killed.wait(timeout=60) == -9
    [(token, name)] = fetch(batch_env, "SELECT token::text, job_name FROM job_submissions")
    found = boto3.client("batch").list_jobs(
        jobQueue=f"refinery-{batch_env.name}-default",
        filters=[{"name": "JOB_NAME", "values": [name]}],
    )["jobSummaryList"]
    [parent] = [job["jobId"] for job in found if ":" not in job["jobId"]]
    conn = db.connect(batch_env)
    try:
        for index in range(5):  # what each child's worker does, told `<parent>:<index>`
            job_id, attempt = resolve_member(conn, token, index)
            assert (job_id, attempt) == (jobs[index], 1)
            job = start_attempt(conn, get_job(conn, job_id), f"child-{index}",
                                executor_job_id=f"{parent}:{index}")  # fmt: skip
            assert finish_attempt(conn, job, succeeded=True, result={})
            conn.commit()
    finally:
        conn.close()

    restarted = _foreman(batch_env, None)
    try:
        wait_until(
            lambda: fetch(batch_env, "SELECT executor_job_id FROM job_submissions")[0][0],
            timeout=60,
            what="the successor settled the submission",
        )
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    expected = [(job_id, "succeeded", f"{parent}:{i}", f"{parent}:{i}", f"{parent}:{i}")
                for i, job_id in enumerate(jobs)]  # fmt: skip
    assert (
        fetch(
            batch_env,
            "SELECT j.id, j.state, j.executor_job_id, a.executor_job_id, a.worker_executor_job_id"
            " FROM jobs j JOIN job_attempts a ON a.job_id = j.id ORDER BY j.id",
        )
        == expected
    )
    assert (
        boto3.client("batch").list_jobs(
            jobQueue=f"refinery-{batch_env.name}-default",
            filters=[{"name": "JOB_NAME", "values": [name]}],
        )["jobSummaryList"]
        == found
    )  # settled by finding it: nothing was submitted again


def _inv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_a_child_is_cancelled_alone_and_a_whole_array_with_one_terminate(batch_env):
    jobs = _enqueue(batch_env, 6)
    executor = BatchExecutor(batch_env)
    conn = db.connect(batch_env)
    try:
        assert dispatch_pending_jobs(conn, batch_env, executor) == 6
    finally:
        conn.close()
        executor.close()
    child = dict(fetch(batch_env, "SELECT id, executor_job_id FROM jobs"))
    parent = child[jobs[0]].rsplit(":", 1)[0]

    # One child: its own TerminateJob; its siblings keep running.
    one = _inv("jobs.cancel", "-e", batch_env.name, str(jobs[0]))
    assert one.returncode == 0, one.stderr
    assert f"worker {child[jobs[0]]} terminated" in one.stdout

    # The whole array: a dry run first, listing the five still running and changing nothing.
    dry = _inv("jobs.cancel", "-e", batch_env.name, str(jobs[3]), "--whole-array")
    assert dry.returncode == 0, dry.stderr
    assert f"array {parent} of 6: would cancel 5 jobs" in dry.stdout
    assert "dry run: nothing changed" in dry.stdout
    assert fetch(batch_env, "SELECT count(*) FROM jobs WHERE state = 'cancelled'") == [(1,)]

    done = _inv("jobs.cancel", "-e", batch_env.name, str(jobs[3]), "--whole-array", "--execute")
    assert done.returncode == 0, done.stderr
    assert f"array {parent} of 6: cancelled 5 jobs" in done.stdout
    assert fetch(batch_env, "SELECT id, state FROM jobs ORDER BY id") == [
        (job_id, "cancelled") for job_id in jobs
    ]
    assert fetch(
        batch_env, "SELECT count(*) FROM job_attempts WHERE outcome = 'cancelled' AND ended_at"
        " IS NOT NULL"
    ) == [(6,)]  # fmt: skip
    # What Batch was asked: the parent once (AWS ends its children with it), child 0 alone.
    described = boto3.client("batch").describe_jobs(jobs=[parent, *child.values()])["jobs"]
    reasons = {job["jobId"]: job.get("statusReason") for job in described}
    assert reasons[parent] == "array cancelled by hand"
    assert reasons[child[jobs[0]]] == "cancelled by hand"
    assert [reasons[child[j]] for j in jobs[1:]] == [None] * 5

    again = _inv("jobs.cancel", "-e", batch_env.name, str(jobs[3]), "--whole-array", "--execute")
    assert again.returncode != 0
    assert again.stderr.strip() == f"error: no job of array {parent} is still running"
    lone = _enqueue(batch_env, 1)[0]
    refused = _inv("jobs.cancel", "-e", batch_env.name, str(lone), "--whole-array")
    assert refused.returncode != 0 and "not part of an array job" in refused.stderr
    assert fetch(batch_env, "SELECT state FROM jobs WHERE id = %s", (lone,)) == [("pending",)]


def test_a_queue_capacity_counts_every_child_of_its_arrays(make_env, moto_server, containers_off):
    env = _batch_env(make_env, moto_server.endpoint_url, capacity=10, batch={"array_size": 4})
    _enqueue(env, 25)
    executor = BatchExecutor(env)
    conn = db.connect(env)
    try:
        assert dispatch_pending_jobs(conn, env, executor) == 10
        sizes = fetch(env, "SELECT size FROM job_submissions ORDER BY size DESC")
        assert sizes == [(4,), (4,), (2,)]  # arrays of at most 4, 10 children in all
        assert dispatch_pending_jobs(conn, env, executor) == 0  # the queue is full
        # Three children end: three places free up, and only three more are started.
        fetch(env, "UPDATE jobs SET state = 'succeeded', ended_at = now() WHERE id IN"
                   " (SELECT id FROM jobs WHERE state = 'dispatched' ORDER BY id LIMIT 3)"
                   " RETURNING id")  # fmt: skip
        assert dispatch_pending_jobs(conn, env, executor) == 3
        assert executor.api_usage()["SubmitJob"]["calls_total"] == 4
    finally:
        conn.close()
        executor.close()
    assert fetch(env, "SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state") == [
        ("dispatched", 10),
        ("pending", 12),
        ("succeeded", 3),
    ]
