"""What the foreman records about submissions, as SQL: started attempts and recorded groups.

Every executor's started attempts get the executor's id on the job and in the attempt's
history (`record_started`). An executor that starts many attempts with one call (AWS Batch's
array jobs) records more, through `foreman.executors.recorded`: each group — its client-side
token, the name the executor will know it by, and the attempt at every array index — in the
same transaction as the claim, before the call; the executor's id once the call answers. A
worker started for a recorded submission resolves its job and attempt here (`resolve_member`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import execute_values

from common.errors import JobError
from common.sql import query

if TYPE_CHECKING:
    from foreman.executors.base import SubmissionGroup


def _sql(name: str) -> str:
    return query(__file__, "submissions.sql", name)


def record_started(conn: Connection, started: list[tuple[int, int, str]]) -> None:
    """(job id, attempt, executor id) of attempts started one by one: the ids go on the jobs
    and into each attempt's history row, in one round trip (no commit)."""
    if started:
        with conn.cursor() as cur:
            execute_values(cur, _sql("record_started"), started, page_size=len(started))


def record_groups(conn: Connection, executor_name: str, groups: list[SubmissionGroup]) -> None:
    """Write the groups and their members (no commit: the claim's transaction holds them)."""
    with conn.cursor() as cur:
        for group in groups:
            cur.execute(_sql("record_submission"), {
                "token": group.token, "executor": executor_name, "job_name": group.name,
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


def unsubmitted_groups(conn: Connection, executor_name: str, *, grace: float) -> list[Any]:
    """(token, name, job queue, definition, size, awaited) of groups recorded but never
    answered, older than `grace` seconds (their foreman died); commits."""
    with conn.cursor() as cur:
        cur.execute(_sql("unsubmitted"), {"executor": executor_name, "grace": grace})
        rows = cur.fetchall()
    conn.commit()
    return rows


def resolve_member(conn: Connection, token: str, index: int) -> tuple[int, int]:
    """(job id, attempt) at `index` of submission `token`; a JobError when there is none."""
    with conn.cursor() as cur:
        cur.execute(_sql("resolve_member"), {"token": token, "index": index})
        row = cur.fetchone()
    conn.commit()
    if row is None:
        raise JobError(f"submission {token} has no member at index {index}")
    return int(row[0]), int(row[1])
