"""A staging-shaped environment on the AWS emulator, for the Batch tests on real containers.

Its database is a fresh migrated one on the session's PostgreSQL, reached with a password the
workers fetch from Secrets Manager by ARN; its lake and delivery inbox are S3 buckets; its two
worker pools (spot, large-memory) are Batch compute environments and job queues; its workers
image is the session's, plus the test's environment file; its job definitions are registered
by `inv batch.register`. Everything then runs through `inv` and a real `python -m foreman run`.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import docker

from common import db
from common.environments import REPO_ROOT, Environment, load_environment
from tests.support.environments import write_environment
from tests.support.foreman import FAST_FOREMAN, wait_until
from workers.submit import job_tree_progress

TIERS = [1024, 2048]
LOG_GROUP = "/aws/batch/job"  # where moto's Batch writes container output
CloudFactory = Callable[..., "CloudEnvironment"]


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


def make_cloud_environment(
    name: str,
    *,
    endpoint_url: str,
    application: str,
    environments_dir: Path,
    database: str,
    workers_image: str,
    version: str,
    workdir: Path,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> CloudEnvironment:
    """Buckets, pools, environment file, derived image and job definitions for `name`;
    `overrides` replaces keys of the environment file's sections (`executor`, `batch`…)."""
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
    sections: dict[str, dict[str, Any]] = {
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
    for section, values in (overrides or {}).items():
        sections[section] = {**sections.get(section, {}), **values}
    path = write_environment(environments_dir, name, sections)
    image = _derived_image(workers_image, path, f"{name}-{uuid.uuid4().hex[:6]}")
    cloud = CloudEnvironment(load_environment(name), inbox, image, workdir)
    registered = cloud.inv("batch.register", "-e", name, "-v", version, "--image", image)
    assert registered.returncode == 0, registered.stderr
    return cloud


def _derived_image(base: str, env_file: Path, tag: str) -> str:
    """The workers image plus the test environment's file, beside the shipped ones."""
    context = env_file.parent / f"image-{tag}"
    context.mkdir()
    (context / env_file.name).write_text(env_file.read_text())
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY {env_file.name} /opt/refinery/app/infrastructure/environments/\n"
    )
    reference = f"refinery-test/workers:{tag}"  # named as a release names it: …/workers:<tag>
    client = docker.APIClient(version="auto", timeout=600)
    try:
        for chunk in client.build(path=str(context), tag=reference, rm=True, decode=True):
            assert "error" not in chunk, chunk
    finally:
        client.close()
    return reference


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


def upload(folder: Path, bucket: str, prefix: str) -> str:
    """Every file under `folder` into `s3://bucket/prefix…`; that location."""
    s3 = boto3.client("s3")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder).as_posix()}")
    return f"s3://{bucket}/{prefix}"


def random_delivery(folder: Path, samples: list[list[int]], project: str = "ARRAY") -> Path:
    """One sample per item, single-end or paired-end by how many file sizes it lists; each
    FASTQ is that many random bytes (no_op never parses it). Sample `S<n>`'s files are
    `fastq/S<n>_R1.fastq.gz` (and `_R2`)."""
    (folder / "fastq").mkdir(parents=True)
    with open(folder / "samplesheet.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["project", "sample_id", "individual", "species", "tissue", "run_id",
                         "read1", "read2"])  # fmt: skip
        for number, sizes in enumerate(samples, start=1):
            reads = []
            for mate, size in enumerate(sizes, start=1):
                fastq = f"fastq/S{number}_R{mate}.fastq.gz"
                with open(folder / fastq, "wb") as data:
                    data.write(os.urandom(size))
                reads.append(fastq)
            writer.writerow([project, f"S{number}", f"I{number}", "Homo sapiens", "blood",
                             f"R{number}", *reads, *[""] * (2 - len(reads))])  # fmt: skip
    return folder
