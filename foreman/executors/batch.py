"""The AWS Batch executor: each attempt is a Batch job running the workers image.

A submission goes to the Batch job queue of the job's queue (its worker pool, chosen by
foreman.routing), with the job definition of its pipeline and memory tier
(`refinery-<env>-<pipeline>-<memory>mb`, registered by `inv batch.register`); the command is
overridden with the workers' entry point for the job. A pipeline is a registered handler:
`<kind>-<handler>` (`survey-delivery`, `process-fastq_qc`), or the kind alone when the two
are the same (`download`). Only pipelines the workers register are submitted, so every name
this executor uses has a definition (ops.batch.definitions renders one per pipeline × tier).
Status is read 100 ids per DescribeJobs call, the most Batch accepts.

Throttling: SubmitJob is limited to 50 calls/s per account. The client retries throttled,
5xx and connection failures itself (botocore's standard mode: exponential backoff with full
jitter); when those retries run out, `submit` raises ExecutorUnavailable, which the foreman
answers by putting the job back unspent — a throttled call never costs an attempt or a tier.

Environment file, optional: `[batch] job_queues = { queue = "batch-queue-name" }` (default
`refinery-<env>-<queue>` with `_` as `-`, the Terraform stack's names).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from common.environments import Environment
from common.errors import ConfigError, JobError
from foreman.executors.base import (
    Executor,
    ExecutorState,
    ExecutorStatus,
    ExecutorUnavailable,
    Submission,
)

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
# Answers that mean "not now", not "not this job": the call is retried, never the attempt.
_UNAVAILABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "ServerException",
    }
)
API_ATTEMPTS = 6  # botocore's standard mode: 1 call + 5 retries, backoff 2^n s with jitter


def batch_client(env: Environment) -> Any:
    """A boto3 Batch client for `env` (its endpoint when set, else AWS_ENDPOINT_URL/AWS),
    retrying throttled and failed calls with exponential backoff and jitter."""
    return boto3.client(
        "batch",
        region_name=env.aws.region,
        endpoint_url=env.aws.endpoint_url or None,
        config=Config(retries={"mode": "standard", "max_attempts": API_ATTEMPTS}),
    )


def pipeline_name(kind: str, handler: str) -> str:
    """`<kind>-<handler>`, or `<kind>` when they are the same (`download`)."""
    return kind if handler in ("", kind) else f"{kind}-{handler}"


def job_definition_name(env: Environment | str, pipeline: str, tier: int) -> str:
    """`refinery-<env>-<pipeline>-<memory>mb`, e.g. `refinery-prod-process-fastq-qc-4096mb`."""
    env_name = env if isinstance(env, str) else env.name
    name = f"refinery-{env_name}-{pipeline.replace('_', '-')}-{int(tier)}mb"
    if not _NAME_PATTERN.match(name):
        raise ConfigError(f"job definition name {name!r} is not valid for AWS Batch")
    return name


def is_unavailable(exc: BaseException) -> bool:
    """Whether a Batch API error means "try again later" (throttled, 5xx, unreachable)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.get("Code") in _UNAVAILABLE_CODES or status == 429 or status >= 500
    return isinstance(exc, BotoCoreError)  # connection, timeout, retry quota, endpoint errors


class BatchExecutor(Executor):
    """Runs attempts as AWS Batch jobs."""

    name = "batch"
    describe_batch_size = 100

    def __init__(self, env: Environment, *, client: Any = None) -> None:
        self.env = env
        self.client = client or batch_client(env)
        settings = env.section("batch")
        self.job_queues: dict[str, str] = dict(settings.get("job_queues", {}))
        self._pipelines: frozenset[str] | None = None

    def job_queue_for(self, queue: str) -> str:
        """The Batch queue of a worker pool: configured, else Terraform's naming rule."""
        default = f"refinery-{self.env.name}-{queue.replace('_', '-')}"
        return self.job_queues.get(queue, default)

    def pipeline_for(self, submission: Submission) -> str:
        """The job definition family of the job's handler; a JobError for a handler the
        workers do not register (it has no job definition, so Batch would refuse it)."""
        pipeline = pipeline_name(submission.kind, submission.handler)
        if pipeline not in self.known_pipelines():
            raise JobError(
                f"job {submission.job_id}: no {submission.kind} handler named "
                f"{submission.handler!r}, so no job definition {pipeline!r}"
            )
        return pipeline

    def known_pipelines(self) -> frozenset[str]:
        """Every pipeline the workers register (and `inv batch.register` defines)."""
        if self._pipelines is None:
            from workers.registry import registered_handlers  # the workers' own registry

            self._pipelines = frozenset(pipeline_name(*item) for item in registered_handlers())
        return self._pipelines

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
            message = f"job {submission.job_id} ({definition}): {_one_line(exc)}"
            if is_unavailable(exc):
                raise ExecutorUnavailable(f"Batch could not take {message}") from None
            raise JobError(f"Batch refused {message}") from None
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
