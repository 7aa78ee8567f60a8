"""The AWS Batch executor: each attempt is a Batch job running the workers image.

A submission goes to the Batch job queue of the job's queue, with the job definition of its
pipeline and memory tier (`refinery-<env>-<pipeline>-<memory>mb`, registered by
`inv batch.register`); the command is overridden with the workers' entry point for the job.
Status is read 100 ids per DescribeJobs call, the most Batch accepts.

Environment file, all optional: `[batch] job_queues = { queue = "batch-queue-name" }`
(default `refinery-<env>-<queue>` with `_` as `-`, the Terraform stack's names), and
`[batch] pipelines = { kind_or_queue = "pipeline" }`.
The pipeline is the submission's REFINERY_PIPELINE variable (a process job's application,
e.g. `fastq_qc`), else that table, else the job kind (`survey`, `download`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any

import boto3

from common.environments import DATABASE_NAME_VARIABLE, Environment
from common.errors import ConfigError, JobError
from common.settings.jobs import BatchSettings
from foreman.executors.base import Executor, ExecutorState, ExecutorStatus, Submission

log = logging.getLogger(__name__)

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_STATES: dict[str, ExecutorState] = {
    "SUBMITTED": "queued",
    "PENDING": "queued",
    "RUNNABLE": "queued",
    "STARTING": "queued",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
}


def batch_client(env: Environment) -> Any:
    """A boto3 Batch client for `env` (its endpoint when set, else AWS_ENDPOINT_URL/AWS)."""
    return boto3.client(
        "batch", region_name=env.aws.region, endpoint_url=env.aws.endpoint_url or None
    )


def job_definition_name(env: Environment | str, pipeline: str, tier: int) -> str:
    """`refinery-<env>-<pipeline>-<memory>mb`, e.g. `refinery-prod-fastq-qc-4096mb`."""
    env_name = env if isinstance(env, str) else env.name
    name = f"refinery-{env_name}-{pipeline.replace('_', '-')}-{int(tier)}mb"
    if not _NAME_PATTERN.match(name):
        raise ConfigError(f"job definition name {name!r} is not valid for AWS Batch")
    return name


class BatchExecutor(Executor):
    """Runs attempts as AWS Batch jobs."""

    name = "batch"
    describe_batch_size = 100

    def __init__(self, env: Environment, *, client: Any = None) -> None:
        self.env = env
        self.client = client or batch_client(env)
        settings = BatchSettings.for_environment(env)
        self.job_queues: dict[str, str] = dict(settings.job_queues)
        self.pipelines: dict[str, str] = dict(settings.pipelines)

    def job_queue_for(self, queue: str) -> str:
        """The Batch queue of a worker pool: configured, else Terraform's naming rule."""
        default = f"refinery-{self.env.name}-{queue.replace('_', '-')}"
        return self.job_queues.get(queue, default)

    def pipeline_for(self, submission: Submission) -> str:
        """The job definition family: a process job names its application's pipeline."""
        if submission.extra_env.get("REFINERY_PIPELINE"):
            return submission.extra_env["REFINERY_PIPELINE"]
        for key in (submission.kind, submission.queue):
            if key in self.pipelines:
                return self.pipelines[key]
        return submission.kind.split(".", 1)[0]

    def tier_for(self, memory_mb: int) -> int:
        """The smallest configured memory tier that holds `memory_mb`."""
        tiers = sorted(self.env.executor.memory_tiers_mb)
        for tier in tiers:
            if tier >= memory_mb:
                return tier
        raise JobError(f"{memory_mb} MB exceeds the largest memory tier ({tiers[-1]} MB)")

    def submit(self, submission: Submission) -> str:
        definition = job_definition_name(
            self.env, self.pipeline_for(submission), self.tier_for(submission.memory_mb)
        )
        environment = {"REFINERY_ENVIRONMENT": submission.environment, **submission.extra_env}
        if os.environ.get(DATABASE_NAME_VARIABLE):  # a foreman working on a rehearsal copy
            environment[DATABASE_NAME_VARIABLE] = os.environ[DATABASE_NAME_VARIABLE]
        try:
            response = self.client.submit_job(
                jobName=f"refinery-{self.env.name}-job-{submission.job_id}-{submission.attempt}",
                jobQueue=self.job_queue_for(submission.queue),
                jobDefinition=definition,
                containerOverrides={
                    "command": list(submission.command),
                    "environment": [{"name": k, "value": v} for k, v in environment.items()],
                },
                tags={"refinery:job-id": str(submission.job_id)},
            )
        except Exception as exc:
            raise JobError(
                f"Batch refused job {submission.job_id} ({definition}): {_one_line(exc)}"
            ) from None
        log.info(
            "submitted job %s as %s",
            submission.job_id,
            response["jobId"],
            extra={"job_id": submission.job_id, "env": self.env.name},
        )
        return response["jobId"]

    def describe(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        ids = list(dict.fromkeys(executor_job_ids))
        if len(ids) > self.describe_batch_size:
            raise JobError(f"describe takes at most {self.describe_batch_size} ids")
        statuses = {job_id: ExecutorStatus(job_id, "unknown") for job_id in ids}
        if not ids:
            return statuses
        response = self.client.describe_jobs(jobs=ids)
        for job in response.get("jobs", []):
            state = _STATES.get(job.get("status", ""), "unknown")
            reason = _failure_reason(job) if state == "failed" else None
            statuses[job["jobId"]] = ExecutorStatus(job["jobId"], state, reason)
        return statuses

    def terminate(self, executor_job_id: str, reason: str) -> None:
        self.client.terminate_job(jobId=executor_job_id, reason=reason[:256] or "terminated")

    def capacity(self, queue: str) -> int:
        configured = self.env.executor.queues.get(queue)
        if configured:
            return configured
        return self.env.executor.concurrency or 100

    def close(self) -> None:
        self.client.close()


def _failure_reason(job: dict[str, Any]) -> str:
    parts = [job.get("statusReason") or "failed"]
    container = job.get("container") or {}
    if container.get("reason"):
        parts.append(container["reason"])
    if container.get("exitCode") is not None:
        parts.append(f"exit code {container['exitCode']}")
    return "; ".join(parts)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
