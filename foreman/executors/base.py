"""The executor interface the foreman dispatches through.

It is shaped for the slowest, most remote executor (AWS Batch): submission returns an opaque
id, status is asked for many ids at once (at most `describe_batch_size`, 100 on Batch), and
termination is a request, not a guarantee.

Submission is by group (`submit_many`): an executor that can start many attempts with one call
(Batch's array jobs) groups them; the others start each attempt alone, as one-member groups.
An executor whose groups carry a client-side token (`records_submissions`) gets them recorded
by the foreman before the call, so that a foreman that dies around the call can find out what
was started (`find_submitted`) and start the rest with the same token — never twice.
"""

from __future__ import annotations

import uuid
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


@dataclass(frozen=True)
class SubmissionGroup:
    """Attempts the executor starts with one call: array index i runs `submissions[i]`.

    `token` is the client-side id the foreman records before the call; `name` is the name the
    executor knows the submission by (derived from the token or the lone attempt), so that it
    can be found again after a crash.
    """

    token: str
    name: str
    job_queue: str
    job_definition: str
    submissions: tuple[Submission, ...]

    @property
    def is_array(self) -> bool:
        return len(self.submissions) > 1


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
    # Whether the foreman records each group and its token before `submit_many` (see above).
    records_submissions: bool = False
    # The most attempts one `submit_many` call starts; the foreman claims at least this many.
    max_group_size: int = 1

    @abstractmethod
    def submit(self, submission: Submission) -> str:
        """Start the attempt; return the executor's id for it."""

    @abstractmethod
    def describe(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        """Status of up to `describe_batch_size` attempts; unknown ids map to 'unknown'."""

    @abstractmethod
    def terminate(self, executor_job_id: str, reason: str) -> None:
        """Ask the executor to stop the attempt."""

    def group(
        self, submissions: Sequence[Submission]
    ) -> tuple[list[SubmissionGroup], list[tuple[Submission, str]]]:
        """Split claimed attempts into groups, each started by one `submit_many` call, and
        the attempts refused outright with why. By default every attempt is its own group."""
        groups = [
            SubmissionGroup(uuid.uuid4().hex, f"job-{s.job_id}-{s.attempt}", s.queue, "", (s,))
            for s in submissions
        ]
        return groups, []

    def submit_many(self, group: SubmissionGroup) -> list[str]:
        """Start every attempt of `group`; their executor ids, in the group's order.

        ExecutorUnavailable means none started; any other error refuses the whole group."""
        return [self.submit(submission) for submission in group.submissions]

    def find_submitted(self, name: str, job_queue: str) -> str | None:
        """The executor's id of the submission named `name`, if it was started (recovery)."""
        return None

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
        """Start again a recorded group that never reached the executor; its id."""
        raise JobError(f"executor {self.name} cannot resubmit recorded submissions")

    def describe_all(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        """Status of any number of attempts, `describe_batch_size` ids per call."""
        ids = list(dict.fromkeys(executor_job_ids))
        statuses: dict[str, ExecutorStatus] = {}
        for start in range(0, len(ids), self.describe_batch_size):
            statuses.update(self.describe(ids[start : start + self.describe_batch_size]))
        return statuses

    def api_usage(self) -> dict[str, dict[str, float]]:
        """Calls made per API in the last minute and throttles seen (remote executors)."""
        return {}

    def capacity(self, queue: str) -> int:
        """How many attempts of `queue` may run at once."""
        return 1

    def close(self) -> None:
        """Release resources (child processes, clients) when the foreman stops."""
        return None


def worker_command(job_id: int) -> tuple[str, ...]:
    """The command every executor runs for a job: the workers' entry point."""
    return ("python", "-m", "workers", "run-job", str(job_id))


def submission_worker_command(token: str) -> tuple[str, ...]:
    """The command of a recorded submission (each child of an array, or a lone job): the
    worker resolves its job and attempt from the token and its array index."""
    return ("python", "-m", "workers", "run-job", "--submission", token)
