"""Stopping and restarting the environment's writers (the foreman and its workers) around a
restore, so nothing writes to the database being replaced.

Locally the foreman is this machine's background service (foreman/service.py, found by its
pid file) and stops its worker processes itself. In the cloud the writers are the foreman on
its host and the Batch jobs: stopped over SSH and through the Batch API, and the foreman
started again after.

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
from common.errors import RefineryError
from common.foreman_host import foreman_host, has_foreman_host
from foreman import service as foreman_service
from foreman.executors.batch import BatchExecutor, batch_client
from ops.db.backups.errors import BackupError


@dataclass(frozen=True)
class WritersState:
    """Whether writers were running before we stopped them (so we restart only those)."""

    foreman_pid: int | None
    cloud: CloudWriters | None = None

    @property
    def were_running(self) -> bool:
        return self.foreman_pid is not None or self.cloud is not None


def running_foreman_pid(env: Environment) -> int | None:
    return foreman_service.foreman_pid(env)


def stop_writers(env: Environment, *, timeout: float = 30) -> WritersState:
    """Stop the foreman (which stops its workers); wait until it is gone."""
    if has_cloud_writers(env):
        return WritersState(None, stop_cloud_writers(env))
    pid = foreman_service.foreman_pid(env)
    if pid is None:
        return WritersState(None)
    foreman_service.stop_foreman(env, timeout=timeout)
    return WritersState(pid)


def restart_writers(env: Environment, state: WritersState) -> str:
    """Start the foreman again if it was running; a sentence saying what happened."""
    if not state.were_running:
        return "no writers were running; none started"
    if state.cloud is not None:
        try:
            return start_cloud_writers(env, state.cloud)
        except RefineryError as exc:  # the restore itself is done; say what is left to do
            return f"the foreman did not start again ({exc}); start it on its host"
    try:
        pid = foreman_service.start_foreman_background(env)
    except RefineryError as exc:  # the restore itself is done; say what is left to do
        return f"the foreman did not restart ({exc}); start it with inv foreman.run"
    return f"the foreman was restarted (pid {pid})"


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
