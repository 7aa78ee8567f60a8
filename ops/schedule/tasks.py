"""`inv schedule.install | schedule.status | schedule.run`: the timers of every scheduled job
(backups, sealing, metadata sync, lake check), and what their last runs did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection, Context

from common.errors import ExitCode
from ops.schedule.jobs import SCHEDULED_JOBS
from ops.schedule.units import DEFAULT_CRON_DIR, DEFAULT_UNIT_DIR
from ops.taskkit import (
    ENV_HELP,
    JSON_HELP,
    console,
    environment,
    print_json,
    print_table,
    styled,
    task,
)

if TYPE_CHECKING:
    from ops.schedule.jobs import ScheduledJob


@task(
    help={
        "env": ENV_HELP,
        "unit_dir": f"where to write systemd units (default {DEFAULT_UNIT_DIR})",
        "cron_dir": f"where to write the cron file without systemd (default {DEFAULT_CRON_DIR})",
        "kind": "systemd or cron (default: systemd when it runs this host, else cron)",
        "execute": "write the files (default: dry run showing them)",
    }
)
def install(
    c: Context,
    env: str,
    unit_dir: str = "",
    cron_dir: str = "",
    kind: str = "",
    execute: bool = False,
) -> None:
    """Install a timer per scheduled job (systemd, or cron where systemd is absent)."""
    from ops.schedule.units import cron_file, install_units, systemd_present, systemd_units

    settings = environment(env)
    kind = kind or ("systemd" if systemd_present() else "cron")
    if kind == "systemd":
        directory = Path(unit_dir) if unit_dir else DEFAULT_UNIT_DIR
        files = systemd_units(settings, directory)
        timers = [unit.path.name for unit in files if unit.path.suffix == ".timer"]
        activate = directory == DEFAULT_UNIT_DIR and systemd_present()
    elif kind == "cron":
        files = [cron_file(settings, Path(cron_dir) if cron_dir else DEFAULT_CRON_DIR)]
        timers, activate = [], False
    else:
        from invoke.exceptions import Exit

        raise Exit(f"error: --kind must be systemd or cron, not {kind!r}", code=ExitCode.USAGE)
    if not execute:
        for unit in files:
            console.print(styled(f"# {unit.path}", "bold"))
            console.print(unit.text, soft_wrap=True)
        console.print("dry run: run again with --execute to install these")
        return
    for line in install_units(files, activate=activate, timers=timers):
        console.print(line)


@task(help={"env": ENV_HELP, "json": JSON_HELP, "limit": "how many recent runs to list"})
def status(c: Context, env: str, json: bool = False, limit: int = 20) -> None:
    """Show every scheduled job (schedule, last outcome, age of the last success) and the runs."""
    from common.settings.operations import ScheduleSection
    from ops.schedule.status import job_summaries, recent_runs

    settings = environment(env)
    expressions = ScheduleSection.for_environment(settings).expressions()
    jobs = list(SCHEDULED_JOBS)
    summaries = job_summaries(settings, expressions, jobs)
    runs = recent_runs(settings, int(limit))
    if json:
        print_json({"jobs": summaries, "runs": runs})
        return
    print_table(
        f"{settings.name} scheduled jobs",
        ["job", "schedule", "last run", "outcome", "last success"],
        [
            (
                s["job"],
                s["schedule"] or "not scheduled",
                s["last_run_at"] or "never",
                {True: "ok", False: "FAILED", None: ""}[s["last_ok"]],
                _age(s["last_success_age_seconds"]),
            )
            for s in summaries
        ],
    )
    print_table(
        f"{settings.name} recent runs",
        ["started", "job", "outcome", "seconds", "detail"],
        [
            (
                run.get("started_at"),
                run.get("job"),
                "ok" if run.get("ok") else "FAILED",
                run.get("seconds"),
                run.get("detail"),
            )
            for run in reversed(runs)
        ],
    )


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


@task(help={"env": ENV_HELP, "job": f"one of: {', '.join(SCHEDULED_JOBS)}"})
def run(c: Context, env: str, job: str) -> None:
    """Run one scheduled job now and record its outcome (what the timers run)."""
    from common.shell import last_lines, run_command
    from ops.schedule.jobs import scheduled_job, task_argv
    from ops.schedule.status import record_run

    settings = environment(env)
    scheduled = scheduled_job(job)
    if scheduled.records_itself:
        result = run_command(task_argv(scheduled, settings.name), timeout=6 * 3600)
        console.print(last_lines(result.stdout, 1) or f"{scheduled.name} finished", markup=False)
        return
    record = record_run(settings, scheduled.name, lambda: _run_task(scheduled, settings.name))
    console.print(record["detail"], markup=False)


def _run_task(job: ScheduledJob, env_name: str) -> str:
    from common.shell import last_lines, run_command
    from ops.schedule.jobs import task_argv

    result = run_command(task_argv(job, env_name), timeout=6 * 3600)
    return last_lines(result.stdout, 1) or f"{' '.join(job.task)} finished"


ns = Collection("schedule")
ns.add_task(install)
ns.add_task(status)
ns.add_task(run)
