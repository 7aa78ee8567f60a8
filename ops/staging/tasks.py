"""`inv staging.refresh | staging.rehearsals`: staging's database replaced by an anonymised,
checked copy of production, and the rehearsal reports that record it.
Logic lives in `ops/staging/`."""

from __future__ import annotations

from dataclasses import asdict

from invoke import Collection, Context

from common.errors import ConfigError
from ops.taskkit import (
    JSON_HELP,
    console,
    environment,
    print_json,
    print_table,
    task,
)

TARGET_HELP = "the environment to refresh (default staging)"


@task(
    name="refresh",
    help={
        "from_": "the environment whose backup is copied (e.g. prod)",
        "env": TARGET_HELP,
        "backup": "a backup of the source to use (default: a recent verified one, or a new one)",
        "execute": "really refresh (default: dry run saying what would happen)",
        "keep_old": "keep staging's previous database after the swap",
        "json": JSON_HELP,
    },
)
def refresh(
    c: Context,
    from_: str | None = None,
    env: str = "staging",
    backup: str | None = None,
    execute: bool = False,
    keep_old: bool = False,
    json: bool = False,
) -> None:
    """Copy a verified prod backup into staging: anonymise, check, migrate, smoke-test, swap."""
    from common.environments import REPO_ROOT
    from ops.progress import progress_display
    from ops.release.versions import git_sha
    from ops.staging.refresh import execute_refresh, plan_refresh

    if not from_:
        raise ConfigError("name the environment to copy: inv staging.refresh --from prod")
    target, origin = environment(env), environment(from_)
    if not execute:
        plan = plan_refresh(target, origin, backup)
        if json:
            print_json(asdict(plan))
            return
        console.print(
            f"dry run: would replace database {plan.database} of "
            f"{plan.environment} with an anonymised copy of {plan.source_environment}"
        )
        for number, step in enumerate(plan.steps, 1):
            console.print(f"  {number}. {step!s}")
        console.print("run again with --execute to do it")
        return
    with progress_display() as progress:
        report = execute_refresh(
            target, origin, commit=git_sha(REPO_ROOT), backup_name=backup,
            keep_old=keep_old or None, progress=progress,
        )  # fmt: skip
    if json:
        print_json(report.as_dict())
        return
    print_table(
        f"{target.name} refreshed from {origin.name}: {report.outcome}",
        ["step", "detail"],
        [(step.name, str(step.detail)) for step in report.steps],
        caption=f"rehearsal report: {report.path}",
    )


@task(help={"env": TARGET_HELP, "json": JSON_HELP})
def rehearsals(c: Context, env: str = "staging", json: bool = False) -> None:
    """The rehearsal reports of staging refreshes: when, from which backup, commit, outcome."""
    from ops.staging.report import rehearsal_reports

    reports = rehearsal_reports(environment(env))
    if json:
        print_json(reports)
        return
    print_table(
        f"{env} rehearsals",
        ["id", "from", "backup", "commit", "outcome", "error"],
        [
            (
                r.get("id"),
                r.get("source_environment"),
                r.get("source_backup", {}).get("name"),
                str(r.get("commit", ""))[:12],
                r.get("outcome"),
                str(r.get("error", "")),
            )
            for r in reversed(reports)
        ],
        caption="" if reports else "no rehearsals recorded",
    )


ns = Collection("staging")
ns.add_task(refresh)
ns.add_task(rehearsals)
