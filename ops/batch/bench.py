"""`inv bench.batch`: the foreman's Batch dispatch against one SubmitJob per job.

Both sides run against the same AWS emulator (moto's server, started here on loopback, with
Batch's containers off: `POST /moto-api/config {"batch": {"use_docker": false}}`), in the
same run. The foreman claims N pending jobs from a fresh database and submits them through
its Batch executor, which groups attempts sharing a job definition and a queue into array
jobs, then reads their status once. The peer does what refine.bio does: one SubmitJob per
job, then DescribeJobs 100 ids at a time. Reported: the wall time until every job is
SUBMITTED, the Batch API calls by kind, and how long those calls take under the account's
fixed SubmitJob quota of 50 calls per second (the limit that matters at scale, since the
quota is shared by the whole account).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.environments import Environment
from common.errors import ConfigError
from common.settings.core import AwsSettings, ExecutorSettings
from foreman.dispatch import dispatch_pending_jobs
from foreman.executors.batch import BatchExecutor, job_definition_name
from ops.bench_queue import bench_environment, pending_queue
from ops.benchkit import Comparison
from ops.progress import Progress, quiet
from ops.sandbox.emulator import EMULATOR_CREDENTIALS, MotoServer, start_moto
from ops.sandbox.processes import free_port, stop_process

SUBMIT_QUOTA_PER_SECOND = 50  # AWS Batch SubmitJob, per account and region (fixed)
DATABASE = "bench_batch"
BENCH_ENV = "benchbatch"
TIERS_MB = (2048, 4096)
DESCRIBE_PAGE = 100  # DescribeJobs takes at most 100 ids per call


@dataclass
class Side:
    """One side's calls by API and its wall time until every job was SUBMITTED."""

    name: str
    seconds: float = 0.0
    status_seconds: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def quota_seconds(self) -> float:
        """How long these calls take at 50 calls/s (every Batch API call counted as one)."""
        return self.total_calls / SUBMIT_QUOTA_PER_SECOND


@dataclass
class BatchBench:
    jobs: int
    refinery: Side
    peer: Side

    def comparisons(self) -> list[Comparison]:
        return [
            Comparison(
                f"{self.jobs:,} jobs until every one is SUBMITTED",
                self.refinery.seconds,
                "one SubmitJob per job",
                self.peer.seconds,
                target=10.0,
            ),
            Comparison(
                f"Batch API calls at 50/s ({self.refinery.total_calls:,} vs "
                f"{self.peer.total_calls:,} calls)",
                self.refinery.quota_seconds,
                "one SubmitJob per job, DescribeJobs by 100",
                self.peer.quota_seconds,
                target=20.0,
            ),
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "submit_calls_per_10000_jobs": self.refinery.calls["SubmitJob"] * 10_000 / self.jobs,
            **{
                side.name: {
                    "seconds_until_submitted": side.seconds,
                    "status_seconds": side.status_seconds,
                    "calls": dict(side.calls),
                    "total_calls": side.total_calls,
                    "seconds_at_50_calls_per_second": side.quota_seconds,
                }
                for side in (self.refinery, self.peer)
            },
        }


def run_batch_bench(env: Environment, *, jobs: int, progress: Progress = quiet) -> BatchBench:
    """Start an emulator, measure both sides on the same queue and definitions, stop it."""
    if env.database.kind != "embedded":
        raise ConfigError("inv bench.batch runs on an embedded environment (such as local)")
    with batch_emulator(progress) as server:
        target = batch_bench_environment(env, server.endpoint_url, capacity=jobs)
        create_batch_resources(target)
        progress(f"the foreman dispatching {jobs:,} jobs")
        ours = _run_refinery(target, jobs)
        progress(f"the peer submitting {jobs:,} jobs one by one")
        peer = _run_peer(target, jobs)
    return BatchBench(jobs, ours, peer)


@contextmanager
def batch_emulator(progress: Progress = quiet) -> Iterator[MotoServer]:
    """An AWS emulator on loopback with Batch's containers off, for the block."""
    for key, value in EMULATOR_CREDENTIALS.items():
        os.environ.setdefault(key, value)  # the emulator takes any; never real ones needed
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        progress("starting the AWS emulator (containers off)")
        server = start_moto(Path(scratch), port=free_port())
        try:
            _containers_off(server)
            yield server
        finally:
            stop_process(server.process)


def empty_emulator(server: MotoServer) -> None:
    """Forget every job and resource, Batch's containers still off: a measurement that
    follows another does not pay for the jobs the emulator kept from it."""
    server.reset()
    _containers_off(server)


def _containers_off(server: MotoServer) -> None:
    request = urllib.request.Request(
        f"{server.endpoint_url}/moto-api/config",
        data=json.dumps({"batch": {"use_docker": False}}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def batch_bench_environment(
    env: Environment, endpoint_url: str, *, capacity: int, database: str = DATABASE
) -> Environment:
    """The bench's environment: the Batch executor on the emulator, one queue of `capacity`
    attempts at once, its own database `database` on `env`'s server."""
    return bench_environment(
        env,
        database,
        name=BENCH_ENV,
        executor=ExecutorSettings(
            kind="batch", queues={"default": capacity}, memory_tiers_mb=TIERS_MB
        ),
        aws=AwsSettings(region="us-east-1", endpoint_url=endpoint_url),
    )


def _batch_client(env: Environment, counter: Counter[str]) -> Any:
    import boto3

    client = boto3.client("batch", region_name="us-east-1", endpoint_url=env.aws.endpoint_url)
    _count_calls(client, counter)
    return client


def _count_calls(client: Any, counter: Counter[str]) -> None:
    def count(model: Any, **_: Any) -> None:
        counter[model.name] += 1

    client.meta.events.register("before-call.batch", count)


def create_batch_resources(env: Environment) -> None:
    """The bench's compute environment, job queue and no-op job definitions, on the emulator."""
    import boto3

    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=env.aws.endpoint_url)
    role = iam.create_role(RoleName=f"{BENCH_ENV}-service", AssumeRolePolicyDocument="{}")
    batch = _batch_client(env, Counter())
    batch.create_compute_environment(
        computeEnvironmentName=f"{BENCH_ENV}-ce",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role["Role"]["Arn"],
    )
    batch.create_job_queue(
        jobQueueName=f"refinery-{BENCH_ENV}-default",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": f"{BENCH_ENV}-ce"}],
    )
    for memory_mb in TIERS_MB:
        batch.register_job_definition(
            jobDefinitionName=job_definition_name(env.name, "process-no_op", memory_mb),
            type="container",
            containerProperties={
                "image": "busybox", "vcpus": 1, "memory": memory_mb, "command": ["true"],
            },
        )  # fmt: skip


def _run_refinery(env: Environment, jobs: int) -> Side:
    side = Side("refinery")
    with pending_queue(env, jobs) as conn:
        executor = BatchExecutor(env)
        _count_calls(executor.client, side.calls)
        started = time.perf_counter()
        dispatched = 0
        while dispatched < jobs:
            done = dispatch_pending_jobs(conn, env, executor)
            if done == 0:
                break
            dispatched += done
        side.seconds = time.perf_counter() - started
        if dispatched != jobs:
            raise ConfigError(f"the foreman dispatched {dispatched} of {jobs} jobs; bench invalid")
        with conn.cursor() as cur:
            cur.execute("SELECT executor_job_id FROM jobs WHERE executor_job_id IS NOT NULL")
            ids = [row[0] for row in cur.fetchall()]
        conn.commit()
        started = time.perf_counter()
        statuses = executor.describe_all(ids)
        side.status_seconds = time.perf_counter() - started
        if len(statuses) != jobs:
            raise ConfigError(f"status of {len(statuses)} of {jobs} jobs read; bench invalid")
    return side


def _run_peer(env: Environment, jobs: int) -> Side:
    side = Side("peer")
    client = _batch_client(env, side.calls)
    queue = f"refinery-{BENCH_ENV}-default"
    definition = job_definition_name(env.name, "process-no_op", TIERS_MB[0])
    started = time.perf_counter()
    ids = [
        client.submit_job(jobName=f"peer-{number}", jobQueue=queue, jobDefinition=definition)[
            "jobId"
        ]
        for number in range(jobs)
    ]
    side.seconds = time.perf_counter() - started
    started = time.perf_counter()
    seen = 0
    for start in range(0, len(ids), DESCRIBE_PAGE):
        seen += len(client.describe_jobs(jobs=ids[start : start + DESCRIBE_PAGE])["jobs"])
    side.status_seconds = time.perf_counter() - started
    if seen != jobs:
        raise ConfigError(f"the peer read the status of {seen} of {jobs} jobs; bench invalid")
    return side
