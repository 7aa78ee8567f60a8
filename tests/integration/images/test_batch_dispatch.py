"""The foreman's real dispatch loop on AWS Batch, nothing injected between our modules.

`inv batch.register` registers a definition per handler and tier from the workers image;
`inv jobs.survey -e ENV s3://…` queues a survey of a delivery uploaded to S3; a real
`python -m foreman run` routes, claims and submits every job through the Batch executor to
moto's Batch, which runs each one as a container of the workers image on the real Docker
engine (host network). The container loads its environment file from the image, takes the
database's address from its job definition and the password from Secrets Manager by ARN,
and records its own success in the real PostgreSQL. Only the test's environment file is
added to the image (the shipped ones are in it already).

Two faults are injected where the cloud puts them, outside our code: a loopback proxy in
front of the emulator throttles a share of Batch calls (every job still succeeds on its
first attempt, on its first memory tier), and `docker kill` stops a worker mid-download
(Batch reports it failed, the foreman retries it, the file lands exactly once).
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import docker
import pytest

from common import db
from common.lake import open_lake
from ops.local.demo_data import write_demo_delivery
from tests.support.batch_cloud import LOG_GROUP, random_delivery, upload
from tests.support.foreman import fetch, wait_until
from tests.support.throttling_proxy import ThrottlingProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def throttling_proxy(moto_server) -> Iterator[ThrottlingProxy]:
    # Six forced throttles: botocore's own retries of the first SubmitJob run out.
    proxy = ThrottlingProxy(moto_server.endpoint_url, share=0.3, throttle_first=6).start()
    yield proxy
    proxy.stop()


def test_the_foreman_runs_an_s3_delivery_on_batch_through_throttling(
    make_cloud, moto_server, throttling_proxy, foreman_process, tmp_path
):
    cloud = make_cloud("batchloop", endpoint_url=throttling_proxy.endpoint_url,
                       application="fastq_qc")  # fmt: skip
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=200)
    root = cloud.survey(upload(delivery.folder, cloud.inbox, "core/run-1/"))
    foreman_process(cloud.run_foreman())

    progress = cloud.wait_for_tree(root)
    assert progress.failed == [] and progress.succeeded == progress.total == 1 + 2 + 1
    jobs = fetch(cloud.env, "SELECT kind, queue, attempt, memory_tier, executor_job_id,"
                            " result FROM jobs ORDER BY id")  # fmt: skip
    # Throttled calls cost nothing: every job ran once, on the first tier, on the spot pool.
    assert {(kind, queue, attempt, tier) for kind, queue, attempt, tier, *_ in jobs} == {
        ("survey", "spot", 1, 0),
        ("download", "spot", 1, 0),
        ("process", "spot", 1, 0),
    }
    counts = throttling_proxy.state.counts
    assert counts["throttled /v1/submitjob"] >= 6 and counts["/v1/submitjob"] > 6
    assert fetch(cloud.env, "SELECT count(*) FROM job_attempts WHERE outcome <> 'succeeded'"
                            " OR outcome IS NULL") == [(0,)]  # fmt: skip

    # Batch ran each job with the definition of its handler and tier.
    batch = boto3.client("batch")

    def all_exited():  # a worker commits a moment before its container exits
        found = batch.describe_jobs(jobs=[row[4] for row in jobs])["jobs"]
        return found if all(job["status"] in ("SUCCEEDED", "FAILED") for job in found) else None

    described = wait_until(all_exited, timeout=60, what="every Batch job ended")
    definitions = sorted(job["jobDefinition"].split("/")[-1].rsplit(":", 1)[0] for job in described)
    assert definitions == [
        "refinery-batchloop-download-1024mb",
        "refinery-batchloop-download-1024mb",
        "refinery-batchloop-process-fastq-qc-1024mb",
        "refinery-batchloop-survey-delivery-1024mb",
    ]
    statuses = {job["status"] for job in described}
    assert statuses == {"SUCCEEDED"}, batch_failures(described, moto_server)  # read on failure
    # The worker's own output reached CloudWatch Logs, with no password in it.
    stream = described[0]["container"]["logStreamName"]
    events = boto3.client("logs").get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)
    text = "\n".join(event["message"] for event in events["events"])
    assert "succeeded" in text
    assert db.embedded_cluster().address().password not in text

    # The files are in the lake, checked end to end by the operator's own task.
    checked = cloud.inv("lake.check", "-e", cloud.env.name, "--checksums")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    qc = next(result for kind, *_, result in jobs if kind == "process")
    assert qc["application"] == "fastq_qc" and qc["computed_files"]


def batch_failures(described: list[dict], moto_server) -> str:
    """Each Batch job that did not succeed: its name, reason, exit code and log's last lines,
    and what the emulator said of the containers it failed to run."""
    logs = boto3.client("logs")
    lines = []
    for job in described:
        if job["status"] == "SUCCEEDED":
            continue
        container = job.get("container", {})
        lines.append(f"{job['jobName']} {job['status']}: {job.get('statusReason')!r},"
                     f" exit code {container.get('exitCode')}")  # fmt: skip
        stream = container.get("logStreamName")
        if stream:
            events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
            lines.extend(f"    {event['message']}" for event in events[-15:])
    if moto_server.log_file is not None and moto_server.log_file.exists():
        said = moto_server.log_file.read_text(errors="replace").splitlines()
        lines.extend(line for line in said if "AWS Batch container" in line)
    return "\n".join(lines)


def test_a_worker_killed_mid_download_is_retried_and_the_file_lands_once(
    make_cloud, moto_server, foreman_process, tmp_path
):
    cloud = make_cloud("batchkill", endpoint_url=moto_server.endpoint_url, application="no_op")
    size = 64 * 1024 * 1024
    root = cloud.survey(upload(random_delivery(tmp_path / "delivery", [[size]]), cloud.inbox, "d/"))
    foreman_process(cloud.run_foreman())

    def running_download():
        rows = fetch(cloud.env, "SELECT id FROM jobs WHERE kind = 'download'"
                                " AND state = 'running' AND attempt = 1")  # fmt: skip
        return rows[0][0] if rows else None

    download = wait_until(running_download, timeout=240, what="the download started")
    engine = docker.from_env()
    try:
        name = f"refinery-batchkill-job-{download}-1"
        container = wait_until(
            lambda: next(iter(engine.containers.list(filters={"name": name})), None),
            timeout=10,
            what=f"container {name} found",
        )
        container.kill()
    finally:
        engine.close()
    assert fetch(cloud.env, "SELECT state FROM jobs WHERE id = %s", (download,)) == [("running",)]

    progress = cloud.wait_for_tree(root)
    assert progress.failed == [] and progress.succeeded == progress.total == 3
    attempts = fetch(
        cloud.env,
        "SELECT attempt, memory_tier, outcome, reason, executor_job_id FROM job_attempts"
        " WHERE job_id = %s ORDER BY attempt",
        (download,),
    )
    assert [(a, tier, outcome) for a, tier, outcome, *_ in attempts] == [
        (1, 0, "lost"),
        (2, 1, "succeeded"),
    ]
    # The foreman learnt of the death from Batch, not from a silent heartbeat.
    [killed] = boto3.client("batch").describe_jobs(jobs=[attempts[0][4]])["jobs"]
    assert killed["status"] == "FAILED"
    assert "heartbeat" not in attempts[0][3]
    [(key, stored_size, _sha256)] = fetch(
        cloud.env, "SELECT lake_key, size_bytes, sha256 FROM files WHERE kind = 'original'"
    )
    lake = open_lake(cloud.env)
    assert lake.stat(key).size == stored_size == size
    listed = boto3.client("s3").list_objects_v2(Bucket=cloud.env.lake.bucket)["Contents"]
    raw = [item["Key"] for item in listed if item["Key"].startswith("raw/")]
    assert raw == [key]  # once, and nothing half-written beside it
    checked = cloud.inv("lake.check", "-e", cloud.env.name, "--checksums")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The retry went one memory tier up, and with it to the large-memory pool.
    assert fetch(cloud.env, "SELECT queue FROM jobs WHERE id = %s", (download,)) == [
        ("large_memory",)
    ]
