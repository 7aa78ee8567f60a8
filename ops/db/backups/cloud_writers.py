"""The writers of a cloud environment, stopped around a restore and started again after.

In the cloud the database's writers are not processes on this machine: the foreman runs on
its host (stopped and started over SSH with `[foreman_host] stop_command` / `start_command`,
ops/foreman_restart.py) and the workers are AWS Batch jobs. The foreman is stopped
first, so nothing submits more jobs; then every job still queued or running in the
environment's Batch job queues is terminated and waited for, so no worker writes to (or
reconnects to) the database being swapped. After the swap the foreman is started again at
the release it ran; it finds the restored jobs and dispatches or retries them itself.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from common.environments import Environment
from common.foreman_host import foreman_host, has_foreman_host
from foreman.executors.batch import BatchExecutor, batch_client
from ops.db.backups.errors import BackupError

log = logging.getLogger(__name__)
ACTIVE_STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
TERMINATE_REASON = "terminated by inv db.restore: the database is being replaced"
DRAIN_TIMEOUT_S = 180


@dataclass(frozen=True)
class CloudWriters:
    """What was stopped: the foreman's hosts and the Batch jobs terminated."""

    hosts: list[str] = field(default_factory=list)
    batch_jobs: list[str] = field(default_factory=list)


def has_cloud_writers(env: Environment) -> bool:
    """Whether `env`'s writers run elsewhere: a foreman host that can be stopped, or Batch."""
    if env.executor.kind == "batch":
        return True
    return has_foreman_host(env) and bool(env.section("foreman_host").get("stop_command"))


def describe_cloud_writers(env: Environment) -> list[str]:
    """The dry run's lines for stopping the writers."""
    lines = []
    if has_foreman_host(env):
        settings = foreman_host(env)
        lines.append(
            f"stop the foreman on {', '.join(settings.host_names)} over SSH "
            f"({settings.section.stop_command or 'no stop_command configured'})"
        )
    if env.executor.kind == "batch":
        queues = ", ".join(_job_queues(env))
        lines.append(f"terminate every queued or running Batch job in {queues} and wait for it")
    return lines


def stop_cloud_writers(env: Environment) -> CloudWriters:
    """Stop the foreman on its hosts, then terminate and drain the Batch jobs."""
    from ops.foreman_restart import stop_foreman

    hosts: list[str] = []
    if has_foreman_host(env):
        settings = foreman_host(env)
        results = stop_foreman(settings, environment=env.name)
        hosts = [result.host for result in results]
    terminated = _terminate_batch_jobs(env) if env.executor.kind == "batch" else []
    return CloudWriters(hosts, terminated)


def start_cloud_writers(env: Environment, stopped: CloudWriters) -> str:
    """Start the foreman again where it was stopped; a sentence saying what happened."""
    from ops.foreman_restart import start_foreman

    count = len(stopped.batch_jobs)
    jobs = f"; {count} Batch job(s) had been terminated" if count else ""
    if not stopped.hosts:
        return "no foreman host to restart" + jobs
    start_foreman(foreman_host(env), environment=env.name)
    return f"the foreman was started again on {', '.join(stopped.hosts)}" + jobs


def _job_queues(env: Environment, client: Any = None) -> list[str]:
    """The Batch job queue of every worker pool, named as the executor names them."""
    executor = BatchExecutor(env, client=client or object())  # its naming only: no API call
    pools = set(executor.job_queues) | set(env.executor.queues)
    return sorted({executor.job_queue_for(pool) for pool in pools})


def _terminate_batch_jobs(env: Environment) -> list[str]:
    client = batch_client(env)
    try:
        active = _active_jobs(client, _job_queues(env, client))
        for job_id in active:
            client.terminate_job(jobId=job_id, reason=TERMINATE_REASON)
        log.info("terminated %d Batch jobs", len(active), extra={"env": env.name})
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        remaining = list(active)
        while remaining:
            described = []
            for start in range(0, len(remaining), 100):
                chunk = remaining[start : start + 100]
                described += client.describe_jobs(jobs=chunk).get("jobs", [])
            remaining = [job["jobId"] for job in described if job["status"] in ACTIVE_STATES]
            if not remaining:
                break
            if time.monotonic() > deadline:
                raise BackupError(
                    f"{len(remaining)} Batch job(s) still run after {DRAIN_TIMEOUT_S} s "
                    f"(e.g. {remaining[0]}); the live database was not touched: retry the restore"
                )
            time.sleep(1)
    finally:
        client.close()
    return active


def _active_jobs(client: Any, queues: list[str]) -> list[str]:
    found: list[str] = []
    paginator = client.get_paginator("list_jobs")
    for queue in queues:
        for status in ACTIVE_STATES:
            for page in paginator.paginate(jobQueue=queue, jobStatus=status):
                found += [job["jobId"] for job in page.get("jobSummaryList", [])]
    return list(dict.fromkeys(found))
