"""`inv jobs.*`: look at jobs, retry the failed, cancel the unwanted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context
from rich.console import RenderableType

from common.errors import ValidationError
from common.inputs import parse_int
from ops.jobs.tasks_survey import survey
from ops.taskkit import (
    ENV_HELP,
    JSON_HELP,
    console,
    environment,
    print_json,
    print_table,
    task,
)

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

    from common.environments import Environment


@task(
    help={
        "env": ENV_HELP,
        "json": JSON_HELP,
        "state": "only jobs in this state (pending, running, failed…)",
        "kind": "only jobs of this kind (survey, download, process)",
    },
    read_only=True,
)
def status(
    c: Context, env: str, json: bool = False, state: str | None = None, kind: str | None = None
) -> None:
    """Show job counts by kind and state, and the latest failures with their reasons."""
    from common.db import connection
    from foreman.job_admin import job_status

    settings = environment(env)
    with connection(settings) as conn:
        report = job_status(conn, state=state, kind=kind)
    if json:
        print_json(report.as_dict())
        return
    total = sum(count for _, _, count in report.counts)
    leaders = [beat for beat in report.foremen if beat.role == "leader"]
    foreman_line = (
        f"leader {leaders[0].foreman_id}, last beat {leaders[0].seconds_since_beat:.0f} s ago"
        if leaders
        else "no foreman is leading"
    )
    print_table(
        f"jobs in {settings.name}",
        ["kind", "state", "jobs"],
        report.counts,
        caption=f"{total} jobs",
    )
    console.print(f"foreman: {foreman_line}")
    if leaders and leaders[0].api_usage:
        print_table(
            "executor API budget (the leader's last minute)",
            ["API", "rate/s", "calls", "throttled", "calls in all", "throttled in all",
             "waited s in all"],
            (
                (api, f"{u['rate_per_second']:g}", int(u["calls_last_minute"]),
                 int(u["throttled_last_minute"]), int(u["calls_total"]),
                 int(u["throttled_total"]), f"{u.get('waited_seconds_total', 0.0):.1f}")
                for api, u in sorted(leaders[0].api_usage.items())
            ),
        )  # fmt: skip
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
    positional_unless={"job_id": "all_failed"},
    bounds={"attempts": (1, 100)},
    positional=["job_id"],
    help={
        "env": ENV_HELP,
        "job_id": "the failed or cancelled job to retry",
        "all_failed": "retry every failed job",
        "attempts": "attempts the job gets from now on (default 3)",
    },
)
def retry(
    c: Context, env: str, job_id: str | None = None, all_failed: bool = False, attempts: int = 3
) -> None:
    """Send a failed or cancelled job (or all failed jobs) back to pending with fresh attempts.

    inv jobs.retry -e ENV JOB_ID   |   inv jobs.retry -e ENV --all-failed
    """
    from common.db import connection
    from foreman.job_admin import retry_jobs

    settings = environment(env)
    with connection(settings) as conn:
        retried = retry_jobs(conn, job_id=_job_id(job_id), all_failed=all_failed, attempts=attempts)
    if not retried:
        console.print("no failed jobs to retry")
    elif len(retried) == 1:
        console.print(f"job {retried[0]} is pending again")
    else:
        console.print(f"{len(retried)} jobs are pending again")


@task(
    positional=["job_id"],
    help={
        "env": ENV_HELP,
        "job_id": "the job to cancel",
        "whole_array": "cancel every job of the Batch array job that carries JOB_ID",
        "execute": "with --whole-array: really cancel (default: dry run listing the jobs)",
    },
)
def cancel(
    c: Context, env: str, job_id: str, whole_array: bool = False, execute: bool = False
) -> None:
    """Cancel a job; a running one has its worker terminated first. With --whole-array,
    every job of its array (dry run unless --execute) and the array job itself."""
    from common.db import connection
    from foreman.executors import executor_for
    from foreman.job_admin import cancel_job

    settings = environment(env)
    number = _job_id(job_id)
    if number is None:
        raise ValidationError("name the job to cancel: inv jobs.cancel JOB_ID")
    if execute and not whole_array:
        raise ValidationError(
            "--execute goes with --whole-array; a single job is cancelled as asked"
        )
    with connection(settings) as conn:
        if whole_array:
            _cancel_array(conn, number, settings, execute=execute)
            return
        outcome = cancel_job(conn, number, lambda: executor_for(settings))
    detail = f" (worker {outcome.terminated} terminated)" if outcome.terminated else ""
    console.print(f"job {outcome.job_id} cancelled; it was {outcome.previous_state}{detail}")


def _cancel_array(conn: Connection, job_id: int, env: Environment, *, execute: bool) -> None:
    from foreman.executors import executor_for
    from foreman.job_admin import cancel_array

    result = cancel_array(conn, job_id, lambda: executor_for(env), execute=execute)
    name = result.executor_job_id or f"submission {result.token} (not yet submitted)"
    ids = ", ".join(str(i) for i in result.job_ids[:20])
    more = f" and {len(result.job_ids) - 20} more" if len(result.job_ids) > 20 else ""
    verb = "cancelled" if result.executed else "would cancel"
    console.print(f"array {name} of {result.size}: {verb} {len(result.job_ids)} jobs ({ids}{more})")
    if result.terminated:
        console.print(f"Batch job {result.terminated} terminated, and its children with it")
    if not result.executed:
        console.print("dry run: nothing changed; add --execute to cancel")


def _job_id(value: object) -> int | None:
    from foreman.jobs import MAX_JOB_ID

    text = "" if value is None else str(value).strip()
    if not text:
        return None
    return parse_int(text, "job id", minimum=1, maximum=MAX_JOB_ID)


@task(
    help={
        "env": ENV_HELP,
        "once": "draw one frame and exit (for scripts)",
        "interval": "seconds between refreshes, 0.1 to 3600 (default 3)",
    },
    bounds={"interval": (0.1, 3600)},
    read_only=True,
)
def top(c: Context, env: str, once: bool = False, interval: float = 3.0) -> None:
    """Live view: queues against capacity, oldest waits, throughput, failures by reason."""
    import time

    from rich.live import Live

    from ops.jobs.top import render_frame
    from ops.snapshots import SnapshotSource

    settings = environment(env)
    source = SnapshotSource(settings)

    def frame() -> RenderableType:
        return render_frame(settings.name, source.take(), source.history(minutes=5))

    try:
        if once:
            console.print(frame())
            return
        with Live(frame(), console=console, auto_refresh=False, screen=False) as live:
            try:
                while True:
                    time.sleep(interval)
                    live.update(frame(), refresh=True)
            except KeyboardInterrupt:
                pass  # leaving the view is how it ends
    finally:
        source.close()


ns = Collection("jobs")
ns.add_task(status)
ns.add_task(retry)
ns.add_task(cancel)
ns.add_task(survey)
ns.add_task(top)
