"""Logs of cloud environments, read from CloudWatch Logs with `awslogs`.

The foreman and services log to the environment's group (`[logs] group`); Batch jobs log to
the group their job definition names (else `[logs] batch_group`, `/aws/batch/job` by
default) in a stream that Batch names; DescribeJobs reports both. For `--job ID` the job's
executor id is read from the jobs table, and Batch says which stream holds its output.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.db import connection
from common.environments import Environment
from common.errors import ConfigError, JobError
from common.sql import query
from foreman.executors.batch import batch_client

DEFAULT_BATCH_GROUP = "/aws/batch/job"


@dataclass(frozen=True)
class LogTarget:
    """A CloudWatch group and optional exact stream to read."""

    group: str
    stream: str | None = None


def environment_log_group(env: Environment) -> str:
    group = env.logs.get("group")
    if not group:
        raise ConfigError(f"{env.path.name}: [logs] group is required for CloudWatch logs")
    return str(group)


def batch_log_group(env: Environment) -> str:
    return str(env.logs.get("batch_group", DEFAULT_BATCH_GROUP))


def job_executor_ids(env: Environment, job_id: int) -> list[str]:
    """The executor ids of job `job_id`'s attempts, newest first."""
    with connection(env) as conn, conn.cursor() as cursor:
        cursor.execute(query(__file__, "logs.sql", "job_exists"), {"job_id": job_id})
        if cursor.fetchone() is None:
            raise JobError(f"job {job_id} not found in {env.name}: check the id")
        cursor.execute(query(__file__, "logs.sql", "job_executor_ids"), {"job_id": job_id})
        rows = cursor.fetchall()
    return list(dict.fromkeys(row[1] for row in rows))


def job_log_target(env: Environment, job_id: int, *, client: Any = None) -> LogTarget:
    """Where Batch put the output of the newest attempt of `job_id` that has a stream."""
    executor_ids = job_executor_ids(env, job_id)
    if not executor_ids:
        raise JobError(f"job {job_id} has not been dispatched yet: no log to show")
    client = client or batch_client(env)
    described = client.describe_jobs(jobs=executor_ids[:100]).get("jobs", [])
    by_id = {job["jobId"]: job.get("container") or {} for job in described}
    for executor_id in executor_ids:
        container = by_id.get(executor_id, {})
        if container.get("logStreamName"):
            # The job definition names its group; Batch's default group otherwise.
            options = (container.get("logConfiguration") or {}).get("options") or {}
            group = options.get("awslogs-group") or batch_log_group(env)
            return LogTarget(group, container["logStreamName"])
    raise JobError(f"job {job_id} has no log stream yet (Batch id {executor_ids[0]}); retry soon")


def awslogs_executable() -> str:
    beside = Path(sys.executable).with_name("awslogs")
    if beside.exists():
        return str(beside)
    found = shutil.which("awslogs")
    if found is None:
        raise ConfigError("awslogs is not installed: run ./scripts/bootstrap.sh")
    return found


def awslogs_argv(
    env: Environment,
    target: LogTarget,
    *,
    pattern: str | None = None,
    since: str = "1h",
    watch: bool = False,
) -> list[str]:
    """The `awslogs get` command line (credentials stay in the environment, never argv)."""
    argv = [awslogs_executable(), "get", target.group]
    if target.stream:
        argv.append(re.escape(target.stream) + "$")
    argv += ["--start", since, "--no-group", "--color", "never", "--aws-region", env.aws.region]
    if env.aws.endpoint_url:
        argv += ["--aws-endpoint-url", env.aws.endpoint_url]
    if pattern:
        argv.append(f"--filter-pattern={pattern}")  # a pattern may start with -
    if watch:
        argv.append("--watch")
    return argv
