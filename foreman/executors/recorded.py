"""Executors that record each group they start with a client-side token (AWS Batch).

An executor that starts many attempts with one call cannot give the foreman their ids before
the call, so a foreman that died around the call would not know what was started. Such an
executor records each group — its token, the name it will submit under, the attempt at every
array index — in the claim's own transaction, before the call (`record_groups`), and the
executor's id once the call answers (`submit_group`). Two crashes are then harmless:

- between the commit and the call: the successor finds the submission unanswered, asks the
  executor for a job of that name (`find_submitted`), finds none, and submits it with the
  same token and name (`resubmit`);
- between the call and the record: the successor finds the job by its name and records it.

Either way each attempt is started once. The SQL is `foreman.submissions`'.
"""

from __future__ import annotations

import logging
from abc import abstractmethod

from psycopg2.extensions import connection as Connection

from common.errors import JobError, first_line
from common.failpoints import failpoint
from foreman.executors.base import (
    SUBMITTED_FAILPOINT,
    Executor,
    ExecutorUnavailable,
    SubmissionGroup,
)
from foreman.submissions import (
    forget_groups,
    record_group_submitted,
    record_groups,
    unsubmitted_groups,
)

log = logging.getLogger(__name__)


class RecordedExecutor(Executor):
    """An executor whose groups are recorded before they are submitted."""

    def record_groups(self, conn: Connection, groups: list[SubmissionGroup]) -> None:
        record_groups(conn, self.name, groups)

    def submit_group(self, conn: Connection, group: SubmissionGroup) -> None:
        try:
            executor_job_ids = self.submit_many(group)
        except BaseException:
            forget_groups(conn, [group.token])
            conn.commit()
            raise
        failpoint(SUBMITTED_FAILPOINT)  # between the call and its record: recovery's second case
        record_group_submitted(conn, group.token, self.parent_id(executor_job_ids[0]))

    def withdraw_groups(self, conn: Connection, groups: list[SubmissionGroup]) -> None:
        forget_groups(conn, [group.token for group in groups])

    @abstractmethod
    def parent_id(self, executor_job_id: str) -> str:
        """The id of the submission itself, from the id of one of its attempts."""

    @abstractmethod
    def find_submitted(self, name: str, job_queue: str) -> str | None:
        """The executor's id of the submission named `name`, if it was started."""

    @abstractmethod
    def resubmit(
        self, token: str, name: str, job_queue: str, definition: str, size: int,
        *, extra_env: dict[str, str] | None = None,
    ) -> str:  # fmt: skip
        """Start the recorded group `token` (an array when `size` > 1); its executor id."""

    def recover_submissions(self, conn: Connection, *, grace: float) -> int:
        settled = 0
        for token, name, job_queue, definition, size, awaited in unsubmitted_groups(
            conn, self.name, grace=grace
        ):
            try:
                found = self.find_submitted(name, job_queue)
                if found is None and not awaited:
                    forget_groups(conn, [token])  # every member ended or moved on: nothing to do
                    conn.commit()
                    settled += 1
                    continue
                if found is None:
                    found = self.resubmit(token, name, job_queue, definition, size)
                    log.warning("submission %s was never made; submitted it now as %s", name, found)
                else:
                    log.warning("submission %s was made as %s; recorded it", name, found)
            except ExecutorUnavailable as exc:
                log.warning("cannot settle submission %s yet: %s", name, first_line(exc))
                return settled
            except JobError as exc:  # refused: its attempts are lost and retried as unsubmitted
                log.warning("submission %s refused: %s", name, first_line(exc))
                forget_groups(conn, [token])
                conn.commit()
                settled += 1
                continue
            record_group_submitted(conn, token, found)
            settled += 1
        return settled
