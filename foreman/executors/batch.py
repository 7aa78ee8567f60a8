"""The AWS Batch executor: each attempt is a Batch job running the workers image.

A submission goes to the Batch job queue of the job's queue (its worker pool, chosen by
foreman.routing), with the job definition of its pipeline and memory tier
(`refinery-<env>-<pipeline>-<memory>mb`, registered by `inv batch.register`); the command is
overridden with the workers' entry point for the job. A pipeline is a declared application:
`<kind>-<name>` (`survey-delivery`, `process-fastq_qc`), or the kind alone when the two are
the same (`download`). Only pipelines the applications' manifests declare are submitted
(read as data, common.applications: the foreman imports no job code), so every name this
executor uses has a definition (ops.batch.definitions renders one per pipeline × tier).
Status is read 100 ids per DescribeJobs call, the most Batch accepts.

At scale: claimed attempts that share a job definition and a Batch queue go as one array job
(up to `[batch] array_size` children, 10,000 on AWS); a lone attempt goes plainly. Every
submission is named after its token and runs `run-job --submission TOKEN`: the worker finds
its attempt from its array index in the mapping the foreman recorded with the claim, so a
child that fails is retried alone, and a submission repeated after a crash is found by name
instead of started twice. Array children are read through their parent's status summary
(foreman.executors.batch_arrays), and every call is paced by the API budget
(foreman.executors.batch_budget).

Throttling: SubmitJob is limited to 50 calls/s per account. The client retries throttled,
5xx and connection failures itself (botocore's standard mode: exponential backoff with full
jitter); when those retries run out, `submit` raises ExecutorUnavailable, which the foreman
answers by putting the job back unspent — a throttled call never costs an attempt or a tier.

Environment file, optional: `[batch] job_queues = { queue = "batch-queue-name" }` (default
`refinery-<env>-<queue>` with `_` as `-`, the Terraform stack's names).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from common.applications import applications, pipeline_name
from common.environments import DATABASE_NAME_VARIABLE, Environment
from common.errors import ConfigError, JobError, first_line
from common.settings.jobs import BatchSettings
from common.worker_identity import child_job_id, split_child_id, submission_worker_command
from foreman.executors.base import (
    ExecutorState,
    ExecutorStatus,
    ExecutorUnavailable,
    Submission,
    SubmissionGroup,
)
from foreman.executors.batch_arrays import ArrayStatusReader
from foreman.executors.batch_budget import ApiBudget
from foreman.executors.recorded import RecordedExecutor

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
_BUDGETED_APIS = ("SubmitJob", "DescribeJobs", "ListJobs", "TerminateJob")
# botocore's standard mode: 1 call + 5 retries, backoff 2^n s with jitter. `total_max_attempts`
# counts the first call; botocore's `max_attempts` would count retries only (one call more).
API_ATTEMPTS = 6


def batch_client(env: Environment) -> Any:
    """A boto3 Batch client for `env` (its endpoint when set, else AWS_ENDPOINT_URL/AWS),
    retrying throttled and failed calls with exponential backoff and jitter."""
    return boto3.client(
        "batch",
        region_name=env.aws.region,
        endpoint_url=env.aws.endpoint_url or None,
        config=Config(retries={"mode": "standard", "total_max_attempts": API_ATTEMPTS}),
    )


def job_definition_name(env_name: str, pipeline: str, memory_mb: int) -> str:
    """`refinery-<env>-<pipeline>-<memory_mb>mb`, e.g. `refinery-prod-process-fastq-qc-4096mb`."""
    name = f"refinery-{env_name}-{pipeline.replace('_', '-')}-{int(memory_mb)}mb"
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


class BatchExecutor(RecordedExecutor):
    """Runs attempts as AWS Batch jobs, each group recorded before it is submitted."""

    name = "batch"
    describe_batch_size = 100

    def __init__(self, env: Environment, *, client: Any = None) -> None:
        self.env = env
        self.client = client or batch_client(env)
        settings = BatchSettings.for_environment(env)
        self.job_queues: dict[str, str] = dict(settings.job_queues)
        self.max_group_size = settings.array_size
        self.budget = ApiBudget({api: settings.api_rate(api) for api in _BUDGETED_APIS})
        self.budget.install(self.client)
        self.arrays = ArrayStatusReader(self.client, reason=_failure_reason)
        self._pipelines: frozenset[str] | None = None

    def job_queue_for(self, queue: str) -> str:
        """The Batch queue of a worker pool: configured, else Terraform's naming rule."""
        default = f"refinery-{self.env.name}-{queue.replace('_', '-')}"
        return self.job_queues.get(queue, default)

    def pipeline_for(self, submission: Submission) -> str:
        """The job definition family of the job's application; a JobError for one that no
        manifest declares (it has no job definition, so Batch would refuse it)."""
        pipeline = pipeline_name(submission.kind, submission.handler)
        if pipeline not in self.known_pipelines():
            raise JobError(
                f"job {submission.job_id}: no {submission.kind} application named "
                f"{submission.handler!r}, so no job definition {pipeline!r}"
            )
        return pipeline

    def known_pipelines(self) -> frozenset[str]:
        """Every declared application's pipeline (what `inv batch.register` defines), read
        from the applications' manifests (common.applications), never from job code."""
        if self._pipelines is None:
            self._pipelines = frozenset(a.pipeline for a in applications().values())
        return self._pipelines

    def definition_memory_mb(self, memory_mb: int) -> int:
        """The memory of the smallest job definition (memory tier) that holds `memory_mb`."""
        tiers = sorted(self.env.executor.memory_tiers_mb)
        for tier_mb in tiers:
            if tier_mb >= memory_mb:
                return tier_mb
        raise JobError(f"{memory_mb} MB exceeds the largest memory tier ({tiers[-1]} MB)")

    def definition_for(self, submission: Submission) -> str:
        """The job definition of the attempt's application and memory (a JobError if none)."""
        return job_definition_name(
            self.env.name,
            self.pipeline_for(submission),
            self.definition_memory_mb(submission.memory_mb),
        )

    def submit(self, submission: Submission) -> str:
        """One attempt as a plain Batch job running `submission.command`."""
        definition = self.definition_for(submission)
        return self._submit_job(
            name=_plain_name(self.env.name, submission),
            job_queue=self.job_queue_for(submission.queue),
            definition=definition,
            command=submission.command,
            size=1,
            what=f"job {submission.job_id} ({definition})",
            extra_env=submission.extra_env,
        )

    def group(
        self, submissions: Sequence[Submission]
    ) -> tuple[list[SubmissionGroup], list[tuple[Submission, str]]]:
        """Attempts sharing a definition and a Batch queue, in arrays of at most
        `max_group_size`; an attempt with no definition is refused on its own."""
        refused: list[tuple[Submission, str]] = []
        by_target: dict[tuple[str, str], list[Submission]] = {}
        for submission in submissions:
            try:
                definition = self.definition_for(submission)
            except JobError as exc:
                refused.append((submission, str(exc)))
                continue
            target = (self.job_queue_for(submission.queue), definition)
            by_target.setdefault(target, []).append(submission)
        groups = []
        for (job_queue, definition), members in by_target.items():
            for start in range(0, len(members), self.max_group_size):
                chunk = tuple(members[start : start + self.max_group_size])
                token = uuid.uuid4().hex
                name = (
                    f"refinery-{self.env.name}-array-{token}"
                    if len(chunk) > 1
                    else _plain_name(self.env.name, chunk[0])
                )
                groups.append(SubmissionGroup(token, name, job_queue, definition, chunk))
        return groups, refused

    def submit_many(self, group: SubmissionGroup) -> list[str]:
        size = len(group.submissions)
        first = group.submissions[0]
        parent = self.resubmit(group.token, group.name, group.job_queue, group.job_definition,
                               size, extra_env=first.extra_env)  # fmt: skip
        if size == 1:
            return [parent]
        return [child_job_id(parent, index) for index in range(size)]

    def resubmit(
        self,
        token: str,
        name: str,
        job_queue: str,
        definition: str,
        size: int,
        *,
        extra_env: dict[str, str] | None = None,
    ) -> str:
        """Start the recorded submission `token` (an array when `size` > 1); its Batch id."""
        return self._submit_job(
            name=name,
            job_queue=job_queue,
            definition=definition,
            command=submission_worker_command(token),
            size=size,
            what=f"submission {name} of {size} ({definition})",
            extra_env=extra_env or {},
        )

    def parent_id(self, executor_job_id: str) -> str:
        """An array's id from a child's (`<parent>:<index>`); a plain job's is its own."""
        child = split_child_id(executor_job_id)
        return child[0] if child is not None else executor_job_id

    def find_submitted(self, name: str, job_queue: str) -> str | None:
        """The Batch id of the job named `name` on `job_queue`, if one was submitted."""
        page = self.client.list_jobs(
            jobQueue=job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        for summary in page.get("jobSummaryList", []):
            if summary.get("jobName") == name and split_child_id(summary["jobId"]) is None:
                return summary["jobId"]
        return None

    def _submit_job(
        self,
        *,
        name: str,
        job_queue: str,
        definition: str,
        command: Sequence[str],
        size: int,
        what: str,
        extra_env: dict[str, str],
    ) -> str:
        environment = {"REFINERY_ENVIRONMENT": self.env.name, **extra_env}
        if os.environ.get(DATABASE_NAME_VARIABLE):  # a foreman working on a rehearsal copy
            environment[DATABASE_NAME_VARIABLE] = os.environ[DATABASE_NAME_VARIABLE]
        request: dict[str, Any] = {
            "jobName": name,
            "jobQueue": job_queue,
            "jobDefinition": definition,
            "containerOverrides": {
                "command": list(command),
                "environment": [{"name": k, "value": v} for k, v in environment.items()],
            },
            "tags": {"refinery:submission": name},
        }
        if size > 1:
            request["arrayProperties"] = {"size": size}
        try:
            response = self.client.submit_job(**request)
        except Exception as exc:
            message = f"{what}: {first_line(exc)}"
            if is_unavailable(exc):
                raise ExecutorUnavailable(f"Batch could not take {message}") from None
            raise JobError(f"Batch refused {message}") from None
        log.info("submitted %s as %s", name, response["jobId"], extra={"env": self.env.name})
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

    def describe_all(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        """Plain jobs 100 per DescribeJobs; array children through their parents' summaries."""
        ids = list(dict.fromkeys(executor_job_ids))
        children = [job_id for job_id in ids if split_child_id(job_id) is not None]
        plain = [job_id for job_id in ids if split_child_id(job_id) is None]
        statuses = super().describe_all(plain)
        statuses.update(self.arrays.statuses(children))
        return statuses

    def api_usage(self) -> dict[str, dict[str, float]]:
        return self.budget.usage()

    def terminate(self, executor_job_id: str, reason: str) -> None:
        self.client.terminate_job(jobId=executor_job_id, reason=reason[:256] or "terminated")

    def capacity(self, queue: str) -> int:
        configured = self.env.executor.queues.get(queue)
        if configured:
            return configured
        return self.env.executor.concurrency or 100

    def close(self) -> None:
        self.client.close()


def _plain_name(env_name: str, submission: Submission) -> str:
    """A lone attempt's job name: unique per attempt, so a repeated submission is found."""
    return f"refinery-{env_name}-job-{submission.job_id}-{submission.attempt}"


def _failure_reason(job: dict[str, Any]) -> str:
    parts = [job.get("statusReason") or "failed"]
    container = job.get("container") or {}
    if container.get("reason"):
        parts.append(container["reason"])
    if container.get("exitCode") is not None:
        parts.append(f"exit code {container['exitCode']}")
    return "; ".join(parts)
