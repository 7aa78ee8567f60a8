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

import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import docker
import pytest

from common import db
from common.environments import REPO_ROOT, Environment, load_environment
from common.lake import open_lake
from ops.local.demo_data import write_demo_delivery
from tests.integration.images.conftest import VERSION
from tests.support.environments import write_environment
from tests.support.foreman import FAST_FOREMAN, fetch, wait_until
from tests.support.services import stop_process
from tests.support.throttling_proxy import ThrottlingProxy
from workers.submit import job_tree_progress

pytestmark = pytest.mark.integration

TIERS = [1024, 2048]
LOG_GROUP = "/aws/batch/job"  # where moto's Batch writes container output


@dataclass
class CloudEnvironment:
    """A staging-shaped environment on the emulator, its buckets and its workers image."""

    env: Environment
    inbox: str
    image: str
    workdir: Path

    def inv(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=REPO_ROOT,
        )

    def survey(self, location: str) -> int:
        result = self.inv("jobs.survey", "-e", self.env.name, location, "--json")
        assert result.returncode == 0, result.stderr
        return int(json.loads(result.stdout)["job_id"])

    def run_foreman(self) -> subprocess.Popen:
        log = open(self.workdir / "foreman.log", "ab")  # noqa: SIM115 - lives with the process
        return subprocess.Popen(
            [sys.executable, "-m", "foreman", "run", "-e", self.env.name],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_for_tree(self, root: int, timeout: float = 420):
        def finished():
            conn = db.connect(self.env)
            try:
                progress = job_tree_progress(conn, root)
            finally:
                conn.close()
            return progress if progress.done else None

        try:
            return wait_until(finished, timeout=timeout, what=f"job {root}'s tree finished")
        except AssertionError:
            log = (self.workdir / "foreman.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"job {root}'s tree did not finish; foreman log:\n{log}") from None


def _derived_image(base: str, env_file: Path, tag: str) -> str:
    """The workers image plus the test environment's file, beside the shipped ones."""
    context = env_file.parent / f"image-{tag}"
    context.mkdir()
    (context / env_file.name).write_text(env_file.read_text())
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY {env_file.name} /opt/refinery/app/infrastructure/environments/\n"
    )
    reference = f"refinery-test-workers:{tag}"
    client = docker.APIClient(version="auto", timeout=600)
    try:
        for chunk in client.build(path=str(context), tag=reference, rm=True, decode=True):
            assert "error" not in chunk, chunk
    finally:
        client.close()
    return reference


@pytest.fixture
def make_cloud(make_env, moto_server, session_dirs, built_images, tmp_path):
    """Factory: (name, endpoint, application) -> a CloudEnvironment with its definitions."""

    def factory(name: str, *, endpoint_url: str, application: str) -> CloudEnvironment:
        database = make_env(name).database.name  # a fresh migrated database for this test
        cluster = db.embedded_cluster().address()
        secret = boto3.client("secretsmanager").create_secret(
            Name=f"{name}-db-{uuid.uuid4().hex[:6]}",
            SecretString=json.dumps({"username": cluster.user, "password": cluster.password}),
        )["ARN"]
        s3 = boto3.client("s3")
        lake, inbox = f"{name}-lake-{uuid.uuid4().hex[:6]}", f"{name}-inbox-{uuid.uuid4().hex[:6]}"
        s3.create_bucket(Bucket=lake)
        s3.create_bucket(Bucket=inbox)
        _batch_pools(name)
        sections = {
            "database": {
                "kind": "dsn",
                "host": cluster.host,
                "port": cluster.port,
                "name": database,
                "user": cluster.user,
                "password_secret": secret,
                "sslmode": "disable",
            },
            "lake": {"backend": "s3", "bucket": lake},
            "executor": {
                "kind": "batch",
                "memory_tiers_mb": TIERS,
                "queues": {"spot": 4, "large_memory": 1},
            },
            "routing": {"default_queue": "spot", "memory_queues": {"large_memory": TIERS[-1]}},
            "logs": {"kind": "cloudwatch", "group": LOG_GROUP},
            "aws": {"region": "us-east-1", "endpoint_url": endpoint_url},
            "foreman": {**FAST_FOREMAN, "reconcile_seconds": 1, "stale_after_seconds": 60,
                        "submit_grace_seconds": 30, "retry_delay_seconds": 0.5},
            "pipeline": {"application": application},
            "batch": {
                # The emulator takes any key; a job on AWS gets its role's credentials instead.
                "job_environment": {
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_EC2_METADATA_DISABLED": "true",
                }
            },
            "outputs": {
                "batch_job_role_arn": "arn:aws:iam::123456789012:role/refinery-batch-job",
                "log_group_name": LOG_GROUP,
                "lake_bucket": lake,
            },
        }  # fmt: skip
        path = write_environment(session_dirs["environments"], name, sections)
        image = _derived_image(
            built_images["workers"].reference, path, f"{name}-{uuid.uuid4().hex[:6]}"
        )
        cloud = CloudEnvironment(load_environment(name), inbox, image, tmp_path)
        registered = cloud.inv("batch.register", "-e", name, "-v", VERSION, "--image", image)
        assert registered.returncode == 0, registered.stderr
        return cloud

    return factory


def _batch_pools(name: str) -> None:
    """The stack's two pools for `name`: a compute environment and job queue each."""
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-batch-service-{uuid.uuid4().hex[:6]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    batch = boto3.client("batch")
    for pool in ("spot", "large-memory"):
        compute = f"refinery-{name}-{pool}-{uuid.uuid4().hex[:6]}"
        batch.create_compute_environment(
            computeEnvironmentName=compute, type="UNMANAGED", state="ENABLED", serviceRole=role
        )
        batch.create_job_queue(
            jobQueueName=f"refinery-{name}-{pool}",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
        )


def _upload(folder: Path, bucket: str, prefix: str) -> str:
    s3 = boto3.client("s3")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder).as_posix()}")
    return f"s3://{bucket}/{prefix}"


@pytest.fixture
def throttling_proxy(moto_server) -> Iterator[ThrottlingProxy]:
    # Six forced throttles: botocore's own retries of the first SubmitJob run out.
    proxy = ThrottlingProxy(moto_server.endpoint_url, share=0.3, throttle_first=6).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def foreman_process() -> Iterator[Callable[[subprocess.Popen], None]]:
    started: list[subprocess.Popen] = []
    yield started.append
    for process in started:
        stop_process(process, timeout=20)


def test_the_foreman_runs_an_s3_delivery_on_batch_through_throttling(
    make_cloud, throttling_proxy, foreman_process, tmp_path
):
    cloud = make_cloud("batchloop", endpoint_url=throttling_proxy.endpoint_url,
                       application="fastq_qc")  # fmt: skip
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=200)
    root = cloud.survey(_upload(delivery.folder, cloud.inbox, "core/run-1/"))
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
    assert {job["status"] for job in described} == {"SUCCEEDED"}
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


def _big_delivery(folder: Path, size: int) -> Path:
    """One single-end sample whose FASTQ is `size` random bytes (no_op never parses it)."""
    (folder / "fastq").mkdir(parents=True)
    with open(folder / "fastq" / "BIG_R1.fastq.gz", "wb") as handle:
        handle.write(os.urandom(size))
    with open(folder / "samplesheet.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["project", "sample_id", "individual", "species", "tissue", "run_id",
                         "read1"])  # fmt: skip
        writer.writerow(["KILL", "S1", "I1", "Homo sapiens", "blood", "R1",
                         "fastq/BIG_R1.fastq.gz"])  # fmt: skip
    return folder


def test_a_worker_killed_mid_download_is_retried_and_the_file_lands_once(
    make_cloud, moto_server, foreman_process, tmp_path
):
    cloud = make_cloud("batchkill", endpoint_url=moto_server.endpoint_url, application="no_op")
    size = 64 * 1024 * 1024
    root = cloud.survey(_upload(_big_delivery(tmp_path / "delivery", size), cloud.inbox, "d/"))
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
