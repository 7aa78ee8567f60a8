"""The local executor: each attempt is a worker process on this machine.

An attempt's id is `<pid>:<start time>` (the start time from /proc, in clock ticks since boot),
so a recycled pid is never mistaken for our worker. Children are reaped on every call; a
worker that a new foreman did not start (the previous leader's) is still described by pid
liveness, and terminated by signal, which is all a successor needs.

A worker's start — the interpreter, the imports, the environment file, its two database
connections — costs about a fifth of a second of CPU, paid before every job. So once it has
started SPARES_AFTER workers (work that keeps coming; a foreman that runs one job, as a
one-off command does, never pays for spares it would not use) the executor keeps up to SPARES
spare workers (`python -m workers standby`, workers.standby) that have paid it already: a job
is handed to a spare (its memory capped first, then one line on its standard input).

Spares are started between the foreman's rounds (`tend`) and only while none of this
executor's workers runs: a spare started behind the job that took the last one spent its fifth
of a second beside that job, and on a two-core machine the quantification it competed with
lost as much. There are three because a sample's chain — its survey, its download, then its
quantification — runs one job after another, each in a spare, with no idle moment between
them; under steady work spares are not replaced (a job then starts cold, as without spares),
and they are back as soon as the work pauses. A spare that has died is passed over for a cold
start; `close` ends the spares, and a spare whose foreman died reads the end of its input and
exits. Every round reaps the workers that have ended.
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
from common.worker_identity import (
    MEMORY_VARIABLE,
    job_of_worker_command,
    standby_order,
    standby_worker_command,
)
from foreman.executors.base import Executor, ExecutorState, ExecutorStatus, Submission

log = logging.getLogger(__name__)
_FINISHED_KEPT_SECONDS = 600
SPARES = 3
SPARES_AFTER = 2  # workers started before spares are kept
STANDBY_LOG = "standby.log"  # what a spare prints before it has a job (a failed import)


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
        self._spares: list[subprocess.Popen] = []
        self._plain_started = 0  # workers started for jobs a spare could have taken

    def submit(self, submission: Submission) -> str:
        self._reap()
        log_path = worker_log_path(self.env, submission.job_id, submission.attempt)
        job_id = job_of_worker_command(submission.command)
        plain = job_id is not None and not submission.extra_env
        process = None
        if job_id is not None and plain and submission.environment == self.env.name:
            process = self._hand_to_spare(job_id, submission.memory_mb, log_path)
        if process is None:
            process = self._start(submission.command, log_path, submission.environment,
                                  {**submission.extra_env,
                                   MEMORY_VARIABLE: str(submission.memory_mb)})  # fmt: skip
            _limit_memory(process.pid, submission.memory_mb)
        if plain:
            self._plain_started += 1
        started = process_start_time(process.pid) or "0"
        executor_job_id = f"{process.pid}:{started}"
        self._children[executor_job_id] = process
        log.info(
            "started worker",
            extra={"job_id": submission.job_id, "pid": process.pid, "env": self.env.name},
        )
        return executor_job_id

    def tend(self) -> None:
        """Reap the workers that ended; warm spares when none of ours runs (see above)."""
        self._reap()
        if self._plain_started >= SPARES_AFTER and not self._children:
            self._keep_spares()

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
        spares, self._spares = self._spares, []
        for spare in spares:
            _stop(spare)

    def _start(
        self, command: Sequence[str], log_path: Path, environment: str, extra: dict[str, str],
        *, stdin: int = subprocess.DEVNULL,
    ) -> subprocess.Popen:  # fmt: skip
        argv = list(command)
        if argv and argv[0] == "python":
            argv[0] = sys.executable
        env = {
            **os.environ,
            **extra,
            "REFINERY_ENVIRONMENT": environment,
            # The tier caps the address space (`_limit_memory`), and glibc reserves 64 MB of
            # it per thread that allocates: polars' thread pools alone then reserved more than
            # a 1 GB tier, and a thread it could not start left the job hanging. Two arenas
            # keep what is reserved close to what is used.
            "MALLOC_ARENA_MAX": "2",
        }
        return start_detached(argv, log_file=log_path, env=env, cwd=REPO_ROOT, stdin=stdin)

    def _keep_spares(self) -> None:
        self._spares = [spare for spare in self._spares if spare.poll() is None]
        while len(self._spares) < SPARES:
            self._spares.append(self._start(standby_worker_command(), self.log_dir / STANDBY_LOG,
                                            self.env.name, {}, stdin=subprocess.PIPE))  # fmt: skip

    def _hand_to_spare(
        self, job_id: int, memory_mb: int, log_path: Path
    ) -> subprocess.Popen | None:
        """The oldest spare, now running `job_id` under `memory_mb`; None when none is alive."""
        if not self._spares:
            return None
        spare = self._spares.pop(0)
        if spare.poll() is not None or spare.stdin is None:
            _stop(spare)
            return self._hand_to_spare(job_id, memory_mb, log_path)
        _limit_memory(spare.pid, memory_mb)
        try:
            spare.stdin.write(standby_order(job_id, memory_mb, str(log_path)))
            spare.stdin.close()
        except OSError:  # it died meanwhile: a cold start instead
            _stop(spare)
            return None
        return spare

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


def _stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=10)
    if process.stdin is not None:
        process.stdin.close()


def _limit_memory(pid: int, memory_mb: int) -> None:
    """Cap the worker's address space at its memory tier (the local stand-in for Batch's)."""
    limit = memory_mb * 1024 * 1024
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
    except (ProcessLookupError, PermissionError, ValueError) as exc:
        log.warning("could not limit worker %s memory: %s", pid, exc)
