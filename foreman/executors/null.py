"""The null executor: accepts every submission and runs nothing.

It measures the foreman alone (the dispatch benchmarks) and lets an environment dry-run its
queue, within the capacity the environment declares per queue (`[executor] queues`; a queue
it does not declare is unlimited). When REFINERY_NULL_EXECUTOR_RECORD names a file, every
submission is appended to it as one `job_id attempt pid` line, so an audit can prove what was
(and was not) handed out.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Sequence

from common.environments import Environment
from foreman.executors.base import Executor, ExecutorStatus, Submission, SubmissionGroup

RECORD_VARIABLE = "REFINERY_NULL_EXECUTOR_RECORD"
UNLIMITED_CAPACITY = 1_000_000_000


class NullExecutor(Executor):
    """Submissions are accepted and stay queued forever."""

    name = "null"

    def __init__(self, env: Environment | None = None, *, record_path: str | None = None) -> None:
        self._queues = dict(env.executor.queues) if env is not None else {}
        self._ids = itertools.count(1)
        self._prefix = f"null-{os.getpid()}-"
        path = record_path or os.environ.get(RECORD_VARIABLE)
        self._record = open(path, "a", buffering=1) if path else None  # noqa: SIM115
        self.submitted = 0

    def group(
        self, submissions: Sequence[Submission]
    ) -> tuple[list[SubmissionGroup], list[tuple[Submission, str]]]:
        """One group for the whole claim: nothing is ever refused, so the claim's attempts
        are recorded as started together (the dispatch benchmarks measure the foreman, not
        one statement per attempt)."""
        if not submissions:
            return [], []
        first = submissions[0]
        name = f"null-{first.job_id}-{first.attempt}"
        return [SubmissionGroup(uuid.uuid4().hex, name, first.queue, "", tuple(submissions))], []

    def submit(self, submission: Submission) -> str:
        self.submitted += 1
        if self._record is not None:
            self._record.write(f"{submission.job_id} {submission.attempt} {os.getpid()}\n")
        return f"{self._prefix}{next(self._ids)}"

    def describe(self, executor_job_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        return {eid: ExecutorStatus(eid, "queued") for eid in executor_job_ids}

    def terminate(self, executor_job_id: str, reason: str) -> None:
        return None

    def capacity(self, queue: str) -> int:
        return self._queues.get(queue) or UNLIMITED_CAPACITY

    def close(self) -> None:
        if self._record is not None:
            self._record.close()
            self._record = None
