"""`inv jobs.*`: look at jobs, retry the failed, cancel the unwanted."""

from __future__ import annotations

from invoke import Collection

from foreman.db import connect
from foreman.executors import executor_for
from foreman.job_admin import cancel_job, job_status, retry_jobs
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(
    help={
        "env": ENV_HELP,
        "json": JSON_HELP,
        "state": "only jobs in this state (pending, running, failed…)",
        "kind": "only jobs of this kind (survey, download, process)",
    }
)
def status(c, env, json=False, state=None, kind=None):
    """Show job counts by kind and state, and the latest failures with their reasons."""
    settings = environment(env)
    conn = connect(settings)
    try:
        report = job_status(conn, state=state, kind=kind)
    finally:
        conn.close()
    if json:
        print_json(report.as_dict())
        return
    total = sum(count for _, _, count in report.counts)
    print_table(
        f"jobs in {settings.name}",
        ["kind", "state", "jobs"],
        report.counts,
        caption=f"{total} jobs",
    )
    if report.recent_failures:
        print_table(
            "recent failures",
            ["job", "kind", "attempts", "ended", "reason"],
            (
                (f.id, f.kind, f.attempt, f"{f.ended_at:%Y-%m-%d %H:%M:%S}" if f.ended_at else "",
                 f.reason)
                for f in report.recent_failures
            ),
        )  # fmt: skip


@task(
    help={
        "env": ENV_HELP,
        "job_id": "the failed or cancelled job to retry",
        "all_failed": "retry every failed job",
        "attempts": "attempts the job gets from now on (default 3)",
    }
)
def retry(c, env, job_id=None, all_failed=False, attempts=3):
    """Send a failed or cancelled job (or all failed jobs) back to pending with fresh attempts."""
    settings = environment(env)
    conn = connect(settings)
    try:
        retried = retry_jobs(
            conn, job_id=_job_id(job_id), all_failed=all_failed, attempts=int(attempts)
        )
    finally:
        conn.close()
    if not retried:
        console.print("no failed jobs to retry")
    elif len(retried) == 1:
        console.print(f"job {retried[0]} is pending again")
    else:
        console.print(f"{len(retried)} jobs are pending again")


@task(help={"env": ENV_HELP, "job_id": "the job to cancel"})
def cancel(c, env, job_id):
    """Cancel a job; a running one has its worker terminated first."""
    settings = environment(env)
    conn = connect(settings)
    try:
        outcome = cancel_job(conn, _job_id(job_id), lambda: executor_for(settings))
    finally:
        conn.close()
    detail = f" (worker {outcome.terminated} terminated)" if outcome.terminated else ""
    console.print(f"job {outcome.job_id} cancelled; it was {outcome.previous_state}{detail}")


def _job_id(value) -> int | None:
    from foreman.errors import ValidationError

    if value is None:
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise ValidationError(f"job id must be a number, not {text!r}")
    return int(text)


ns = Collection("jobs")
ns.add_task(status)
ns.add_task(retry)
ns.add_task(cancel)
