"""The executor interface the foreman dispatches through.

It is shaped for the slowest, most remote executor (AWS Batch): submission returns an opaque
id, status is asked for many ids at once (at most `describe_batch_size`, 100 on Batch), and
termination is a request, not a guarantee.

Submission is by group: an executor that can start many attempts with one call (Batch's array
jobs) groups them; the others start each attempt alone, as one-member groups. Each executor
owns the recording of what it starts (`submit_group`), so the foreman's dispatch treats every
executor alike: by default the executor's id of each started attempt goes on the job and its
history; an executor that records its groups before the call (`foreman.executors.recorded`,
AWS Batch) also writes them down in the claim's transaction (`record_groups`), so a successor
of a foreman that died around the call finds out what was started (`recover_submissions`) and
starts the rest with the same token — never twice.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from psycopg2.extensions import connection as Connection

from common.errors import JobError
from common.failpoints import failpoint
from foreman.submissions import record_started

# Hit after an executor started a group and before it recorded that it did.
SUBMITTED_FAILPOINT = "foreman.dispatch.submitted"
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
    handler: str = ""  # the name of its application: the job's `handler` column


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
    # The most attempts one group starts; the foreman claims at least this many.
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
        """Split claimed attempts into groups, each started by one `submit_group` call, and
        the attempts refused outright with why. By default every attempt is its own group."""
        groups = [
            SubmissionGroup(uuid.uuid4().hex, f"job-{s.job_id}-{s.attempt}", s.queue, "", (s,))
            for s in submissions
        ]
        return groups, []

    def record_groups(self, conn: Connection, groups: list[SubmissionGroup]) -> None:
        """Write down, in the claim's transaction (no commit), what a successor needs to find
        the groups again before they are submitted. By default nothing: an attempt started
        alone is recorded once it has started."""
        return None

    def submit_group(self, conn: Connection, group: SubmissionGroup) -> None:
        """Start every attempt of `group` and record the executor's ids on them, in `conn`'s
        transaction (which the caller commits, once for all its groups, if this did not).

        ExecutorUnavailable means none started; any other error refuses the whole group.
        Either way nothing of the group stays recorded."""
        executor_job_ids = self.submit_many(group)
        failpoint(SUBMITTED_FAILPOINT)
        record_started(conn, [
            (s.job_id, s.attempt, executor_job_id)
            for s, executor_job_id in zip(group.submissions, executor_job_ids, strict=True)
        ])  # fmt: skip

    def withdraw_groups(self, conn: Connection, groups: list[SubmissionGroup]) -> None:
        """Forget what `record_groups` wrote of groups that will not be submitted (no commit)."""
        return None

    def recover_submissions(self, conn: Connection, *, grace: float) -> int:
        """Settle groups a dead foreman recorded but left unanswered; how many were settled."""
        return 0

    def submit_many(self, group: SubmissionGroup) -> list[str]:
        """Start every attempt of `group`; their executor ids, in the group's order."""
        return [self.submit(submission) for submission in group.submissions]

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

    def tend(self) -> None:
        """Housekeeping between the foreman's rounds (the local executor reaps its finished
        workers and warms spares while none runs); nothing by default."""
        return None

    def close(self) -> None:
        """Release resources (child processes, clients) when the foreman stops."""
        return None
