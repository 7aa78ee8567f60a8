"""Recorded submissions: the client-side token of every group an executor starts at once.

For an executor that records them (AWS Batch), the foreman writes each group — its token, the
name the executor will know it by, and the attempt at every array index — in the same
transaction as the claim, before the call; the executor's id follows once the call answers.
Two crashes are then harmless:

- between the commit and the call: the successor finds the submission unanswered, asks the
  executor for a job of that name, finds none, and submits it (same token, same name);
- between the call and the record: the successor finds the job by its name and records it.

Either way each attempt is started once. A worker started for a submission resolves its job
and attempt here (`resolve_member`); an attempt since superseded refuses to run.
"""

from __future__ import annotations

import logging

from psycopg2.extensions import connection as Connection
from psycopg2.extras import execute_values

from common.errors import JobError, first_line
from common.sql import query
from foreman.executors.base import Executor, ExecutorUnavailable, SubmissionGroup

log = logging.getLogger(__name__)


def _sql(name: str) -> str:
    return query(__file__, "submissions.sql", name)


def record_groups(conn: Connection, executor: Executor, groups: list[SubmissionGroup]) -> None:
    """Write the groups and their members (no commit: the claim's transaction holds them)."""
    with conn.cursor() as cur:
        for group in groups:
            cur.execute(_sql("record_submission"), {
                "token": group.token, "executor": executor.name, "job_name": group.name,
                "job_queue": group.job_queue, "job_definition": group.job_definition,
                "size": len(group.submissions),
            })  # fmt: skip
            members = [
                (group.token, index, s.job_id, s.attempt)
                for index, s in enumerate(group.submissions)
            ]
            execute_values(cur, _sql("record_members"), members, page_size=10_000)


def record_group_submitted(conn: Connection, token: str, executor_job_id: str) -> None:
    """The executor took `token` as `executor_job_id` (commits)."""
    with conn.cursor() as cur:
        cur.execute(_sql("record_group_submitted"),
                    {"token": token, "executor_job_id": executor_job_id})  # fmt: skip
    conn.commit()


def forget_groups(conn: Connection, tokens: list[str]) -> None:
    """Drop groups the executor never took (no commit)."""
    if tokens:
        with conn.cursor() as cur:
            execute_values(cur, _sql("forget_submissions"), [(t,) for t in tokens])


def resolve_member(conn: Connection, token: str, index: int) -> tuple[int, int]:
    """(job id, attempt) at `index` of submission `token`; a JobError when there is none."""
    with conn.cursor() as cur:
        cur.execute(_sql("resolve_member"), {"token": token, "index": index})
        row = cur.fetchone()
    conn.commit()
    if row is None:
        raise JobError(f"submission {token} has no member at index {index}")
    return int(row[0]), int(row[1])


def recover_submissions(conn: Connection, executor: Executor, *, grace: float) -> int:
    """Settle submissions a dead foreman left unanswered; returns how many were settled."""
    if not executor.records_submissions:
        return 0
    with conn.cursor() as cur:
        cur.execute(_sql("unsubmitted"), {"executor": executor.name, "grace": grace})
        rows = cur.fetchall()
    conn.commit()
    settled = 0
    for token, name, job_queue, definition, size, awaited in rows:
        try:
            found = executor.find_submitted(name, job_queue)
            if found is None and not awaited:
                forget_groups(conn, [token])  # every member ended or moved on: nothing to start
                conn.commit()
                settled += 1
                continue
            if found is None:
                found = executor.resubmit(token, name, job_queue, definition, size)
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
