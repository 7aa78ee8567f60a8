"""The jobs a timer may run, and how each one runs: one table for units, cron and `run`.

Every scheduled job is an `inv` task run in a child process, so a timer does exactly what an
engineer would type, with the same one-line errors and exit codes. `schedule.run` records the
outcome of each (the backup records its own, through `inv db.scheduled-backup`), and
`schedule.status` reads those records back.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from common.errors import ValidationError


@dataclass(frozen=True)
class ScheduledJob:
    """A job a timer may run: the `inv` task and its arguments, and what it is for."""

    name: str
    task: tuple[str, ...]
    purpose: str
    records_itself: bool = False


SCHEDULED_JOBS = {
    job.name: job
    for job in (
        ScheduledJob(
            "backup", ("db.scheduled-backup",), "take, verify, prune, ship a backup", True
        ),
        ScheduledJob("seal", ("analyses.seal",), "seal finished analyses"),
        ScheduledJob(
            "metadata-sync", ("metadata.sync", "--execute"), "pull and apply REDCap metadata"
        ),
        ScheduledJob("lake-check", ("lake.check", "--checksums"), "catalog against the lake"),
    )
}


def scheduled_job(name: str) -> ScheduledJob:
    """The job called `name`; a one-line error naming the known ones otherwise."""
    try:
        return SCHEDULED_JOBS[name]
    except KeyError:
        known = ", ".join(SCHEDULED_JOBS)
        raise ValidationError(f"unknown scheduled job {name[:40]!r} (known: {known})") from None


def inv_command() -> str:
    """The `inv` of this installation (the one beside this interpreter)."""
    return str(Path(sys.executable).with_name("inv"))


def task_argv(job: ScheduledJob, env_name: str) -> list[str]:
    """The command that does the job's work."""
    return [inv_command(), job.task[0], "-e", env_name, *job.task[1:]]


def timer_argv(job: ScheduledJob, env_name: str) -> list[str]:
    """What a timer runs: the task itself when it records its own outcome, else
    `inv schedule.run`, which runs the task and records how it ended."""
    if job.records_itself:
        return task_argv(job, env_name)
    return [inv_command(), "schedule.run", "-e", env_name, job.name]
