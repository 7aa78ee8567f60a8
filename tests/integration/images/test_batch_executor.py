"""The Batch executor against moto's Batch, which runs the real workers image on Docker.

Job definitions are registered from the project's templates (with the image just built),
jobs are submitted through `BatchExecutor`, watched with `describe` until Batch says they
finished, and their output is read back from CloudWatch Logs — also through `inv logs --job`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import boto3
import pytest

from common import db
from common.environments import REPO_ROOT
from foreman.executors.base import Submission
from foreman.executors.batch import BatchExecutor
from foreman.jobs import enqueue_job
from ops.batch.registration import register_job_definitions
from ops.logs.cloudwatch import job_log_target
from tests.integration.images.conftest import VERSION

pytestmark = pytest.mark.integration

TIERS = [1024, 2048]


@pytest.fixture
def batch_env(make_env, moto_server, docker_engine):
    """An environment whose executor is moto's Batch, with a compute environment and queue."""
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName=f"refinery-batch-service-{time.monotonic_ns()}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    queue = f"refinery-batchrun-default-{time.monotonic_ns()}"
    env = make_env(
        "batchrun",
        executor={"kind": "batch", "memory_tiers_mb": TIERS},
        aws={"endpoint_url": moto_server.endpoint_url},
        logs={"kind": "cloudwatch", "group": "/refinery/batchrun"},
        batch={"job_queues": {"default": queue}},
    )
    batch = boto3.client("batch")
    compute = f"refinery-batchrun-{time.monotonic_ns()}"
    batch.create_compute_environment(
        computeEnvironmentName=compute, type="UNMANAGED", state="ENABLED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName=queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
    )
    return env


def _wait_until_finished(executor, ids, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        statuses = executor.describe(ids)
        if all(statuses[i].state in ("succeeded", "failed") for i in ids):
            return statuses
        if time.monotonic() > deadline:
            pytest.fail(f"Batch jobs did not finish within {timeout} s: {statuses}")
        time.sleep(1)


def test_batch_executor_runs_workers_image_and_logs_reach_cloudwatch(batch_env, built_images, conn):
    registered = register_job_definitions(
        batch_env,
        version=VERSION,
        image=built_images["workers"].reference,
        outputs={
            "batch_job_role_arn": "arn:aws:iam::123456789012:role/refinery-job",
            "log_group_name": "/aws/batch/job",
        },
    )
    assert {item.memory_mb for item in registered} == set(TIERS)
    executor = BatchExecutor(batch_env)

    def submission(job_id, command, memory_mb=1024):
        return Submission(
            job_id=job_id,
            attempt=1,
            kind="survey",
            queue="default",
            memory_mb=memory_mb,
            environment=batch_env.name,
            command=command,
            handler="delivery",
        )

    script = "import os; print('hello from job', os.environ['REFINERY_ENVIRONMENT'])"
    good = executor.submit(submission(41, ("python", "-c", script), memory_mb=1500))
    bad = executor.submit(submission(42, ("python", "-c", "raise SystemExit(3)")))
    statuses = _wait_until_finished(executor, [good, bad])
    statuses.update(executor.describe(["no-such-job"]))

    assert statuses[good].state == "succeeded"
    assert statuses[bad].state == "failed" and statuses[bad].reason
    assert statuses["no-such-job"].state == "unknown"
    described = boto3.client("batch").describe_jobs(jobs=[good])["jobs"][0]
    definition = described["jobDefinition"].split("/")[-1]
    assert definition.startswith("refinery-batchrun-survey-delivery-2048mb")
    stream = described["container"]["logStreamName"]
    events = boto3.client("logs").get_log_events(
        logGroupName="/aws/batch/job", logStreamName=stream
    )["events"]
    assert "hello from job batchrun" in [event["message"] for event in events]

    # `inv logs --job` finds the stream through the jobs table and Batch.
    conn = db.connect(batch_env)
    try:
        job_id, _ = enqueue_job(conn, "survey", {"source": "test"})
        with conn.cursor() as cursor:
            cursor.execute("UPDATE jobs SET executor_job_id = %s WHERE id = %s", (good, job_id))
        conn.commit()
    finally:
        conn.close()
    target = job_log_target(batch_env, job_id)
    assert (target.group, target.stream) == ("/aws/batch/job", stream)
    shown = subprocess.run(
        [sys.executable, "-m", "invoke", "logs", "-e", batch_env.name, "--job", str(job_id)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert "hello from job batchrun" in shown.stdout


def test_batch_executor_terminates_a_running_job(batch_env, built_images):
    register_job_definitions(
        batch_env,
        version=VERSION,
        image=built_images["workers"].reference,
        outputs={"batch_job_role_arn": "arn:aws:iam::1:role/r", "log_group_name": "/g"},
    )
    executor = BatchExecutor(batch_env)
    job = executor.submit(
        Submission(
            job_id=43,
            attempt=2,
            kind="survey",
            queue="default",
            memory_mb=2048,
            environment=batch_env.name,
            command=("sleep", "120"),
            handler="ena",
        )
    )
    deadline = time.monotonic() + 60
    while executor.describe([job])[job].state != "running":
        if time.monotonic() > deadline:
            pytest.fail("job never reached RUNNING")
        time.sleep(0.5)
    executor.terminate(job, "cancelled by test")
    status = _wait_until_finished(executor, [job], timeout=60)[job]
    assert status.state == "failed"
