"""The local executor: each attempt is a worker process on this machine.

An attempt's id is `<pid>:<start time>` (the start time from /proc, in clock ticks since boot),
so a recycled pid is never mistaken for our worker. Children are reaped on every call; a
worker that a new foreman did not start (the previous leader's) is still described by pid
liveness, and terminated by signal, which is all a successor needs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common.environments import REPO_ROOT, Environment
from common.inputs import is_digits
from common.shell import start_detached
from common.worker_identity import MEMORY_VARIABLE
from foreman.executors.base import Executor, ExecutorState, ExecutorStatus, Submission

log = logging.getLogger(__name__)
_FINISHED_KEPT_SECONDS = 600


def worker_log_dir(env: Environment) -> Path:
    """Where local workers write their logs (read back by `inv logs`)."""
    return env.state_dir / "workers"


def worker_log_path(env: Environment, job_id: int, attempt: int) -> Path:
    """The log of one attempt of one job: attempts never overwrite each other."""
    return worker_log_dir(env) / f"job-{int(job_id)}-{int(attempt)}.log"


def process_start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces; the fields after it are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has finished; only its parent can read the exit code
        return None
    return fields[19]


def exit_reason(returncode: int) -> str:
    """A one-line description of how a worker process ended."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"worker process killed by {name}"
    return f"worker process exited with code {returncode}"


class LocalExecutor(Executor):
    """Worker processes started with this interpreter from the repository root."""

    name = "local"

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.log_dir = worker_log_dir(env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._children: dict[str, subprocess.Popen] = {}
        self._finished: dict[str, tuple[float, int]] = {}

    def submit(self, submission: Submission) -> str:
        self._reap()
        command = list(submission.command)
        if command and command[0] == "python":
            command[0] = sys.executable
        env = {
            **os.environ,
            **submission.extra_env,
            "REFINERY_ENVIRONMENT": submission.environment,
            MEMORY_VARIABLE: str(submission.memory_mb),
            # The tier caps the address space (`_limit_memory`), and glibc reserves 64 MB of
            # it per thread that allocates: polars' thread pools alone then reserved more than
            # a 1 GB tier, and a thread it could not start left the job hanging. Two arenas
            # keep what is reserved close to what is used.
            "MALLOC_ARENA_MAX": "2",
        }
        log_path = worker_log_path(self.env, submission.job_id, submission.attempt)
        process = start_detached(command, log_file=log_path, env=env, cwd=REPO_ROOT)
        _limit_memory(process.pid, submission.memory_mb)
        started = process_start_time(process.pid) or "0"
        executor_job_id = f"{process.pid}:{started}"
        self._children[executor_job_id] = process
        log.info(
            "started worker",
            extra={"job_id": submission.job_id, "pid": process.pid, "env": self.env.name},
        )
        return executor_job_id

    def describe(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        self._reap()
        return {eid: self._status(eid) for eid in executor_job_ids}

    def terminate(self, executor_job_id: str, reason: str) -> None:
        pid = self._live_pid(executor_job_id)
        if pid is None:
            return
        log.info(
            "terminating worker %s: %s",
            executor_job_id,
            reason,
            extra={"executor_job_id": executor_job_id, "env": self.env.name},
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)

    def capacity(self, queue: str) -> int:
        settings = self.env.executor
        if queue in settings.queues:
            return int(settings.queues[queue])
        return settings.concurrency or os.cpu_count() or 1

    def close(self) -> None:
        # Running workers are left alone: they finish their attempt, and a successor reconciles.
        self._reap()

    def _status(self, executor_job_id: str) -> ExecutorStatus:
        if executor_job_id in self._children:
            return ExecutorStatus(executor_job_id, "running")
        if executor_job_id in self._finished:
            returncode = self._finished[executor_job_id][1]
            state: ExecutorState = "succeeded" if returncode == 0 else "failed"
            reason = None if returncode == 0 else exit_reason(returncode)
            return ExecutorStatus(executor_job_id, state, reason)
        if self._live_pid(executor_job_id) is not None:
            return ExecutorStatus(executor_job_id, "running")
        return ExecutorStatus(executor_job_id, "unknown", "worker process is gone")

    def _live_pid(self, executor_job_id: str) -> int | None:
        pid_text, _, started = executor_job_id.partition(":")
        if not is_digits(pid_text):
            return None
        pid = int(pid_text)
        return pid if process_start_time(pid) == started else None

    def _reap(self) -> None:
        now = time.monotonic()
        for eid, process in list(self._children.items()):
            returncode = process.poll()
            if returncode is not None:
                del self._children[eid]
                self._finished[eid] = (now, returncode)
        for eid, (ended, _) in list(self._finished.items()):
            if now - ended > _FINISHED_KEPT_SECONDS:
                del self._finished[eid]


def _limit_memory(pid: int, memory_mb: int) -> None:
    """Cap the worker's address space at its memory tier (the local stand-in for Batch's)."""
    limit = memory_mb * 1024 * 1024
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
    except (ProcessLookupError, PermissionError, ValueError) as exc:
        log.warning("could not limit worker %s memory: %s", pid, exc)
