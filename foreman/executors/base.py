"""The executor interface the foreman dispatches through.

It is shaped for the slowest, most remote executor (AWS Batch): submission returns an opaque
id, status is asked for many ids at once (at most `describe_batch_size`, 100 on Batch), and
termination is a request, not a guarantee.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from common.errors import JobError

ExecutorState = Literal["queued", "running", "succeeded", "failed", "unknown"]


@dataclass(frozen=True)
class Submission:
    """Everything an executor needs to start one attempt of one job."""

    job_id: int
    attempt: int
    kind: str
    queue: str
    memory_mb: int
    environment: str
    command: tuple[str, ...]
    extra_env: dict[str, str] = field(default_factory=dict)
    handler: str = ""  # the handler's registered name (foreman.jobs.handler_name)


class ExecutorUnavailable(JobError):
    """The executor could not take the submission now (throttled, unreachable, 5xx).

    Nothing was started: the foreman puts the job back to pending with its attempt unspent,
    on the same memory tier, and tries again later. Any other error from `submit` is a
    refusal of the job itself and costs the attempt.
    """


@dataclass(frozen=True)
class ExecutorStatus:
    """What the executor says about one submitted attempt."""

    executor_job_id: str
    state: ExecutorState
    reason: str | None = None


class Executor(ABC):
    """Somewhere worker jobs run."""

    name: str = "abstract"
    describe_batch_size: int = 100

    @abstractmethod
    def submit(self, submission: Submission) -> str:
        """Start the attempt; return the executor's id for it."""

    @abstractmethod
    def describe(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        """Status of up to `describe_batch_size` attempts; unknown ids map to 'unknown'."""

    @abstractmethod
    def terminate(self, executor_job_id: str, reason: str) -> None:
        """Ask the executor to stop the attempt."""

    def capacity(self, queue: str) -> int:
        """How many attempts of `queue` may run at once."""
        return 1

    def close(self) -> None:
        """Release resources (child processes, clients) when the foreman stops."""
        return None


def worker_command(job_id: int) -> tuple[str, ...]:
    """The command every executor runs for a job: the workers' entry point."""
    return ("python", "-m", "workers", "run-job", str(job_id))
