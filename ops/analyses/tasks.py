"""`inv analyses.*`: run applications on demand; seal finished results."""

from __future__ import annotations

from invoke import Collection, Context

from ops.analyses.run import request_run
from ops.analyses.seal import S3_PROTECTED, S3_UNPROTECTED, seal_finished_analyses
from ops.taskkit import (
    ENV_HELP,
    JSON_HELP,
    console,
    environment,
    err_console,
    print_json,
    print_table,
    task,
)


@task(
    help={
        "env": ENV_HELP,
        "dry_run": "only say what would be sealed (sealing acts by default: it runs on a timer)",
        "json": JSON_HELP,
    }
)
def seal(c: Context, env: str, dry_run: bool = False, json: bool = False) -> None:
    """Seal FINISHED analyses: SUCCEEDED, read-only, owned by the bot, checksums recorded."""
    report = seal_finished_analyses(environment(env), execute=not dry_run)
    if json:
        print_json(
            {
                "executed": report.executed,
                "bot_user": report.bot_user,
                "sealed": [s.__dict__ for s in report.sealed],
                "refused": [{"analysis_id": a, "reason": r} for a, r in report.refused],
            }
        )
        return
    verb = "sealed" if report.executed else "would seal"
    print_table(
        f"{verb} {len(report.sealed)} analyses (bot: {report.bot_user})",
        ("analysis", "run by", "files", "bytes", "results sha256", "ownership"),
        (
            (s.analysis_id, s.run_by, s.files, s.results_bytes, s.results_sha256, s.ownership)
            for s in report.sealed
        ),
    )
    if any(s.ownership == S3_PROTECTED for s in report.sealed):
        console.print(
            "note: on S3 the recorded checksums prove the results unchanged; the bucket policy"
            " (deny writes under analyses/ except to the bot) keeps them read-only"
        )
    if any(s.ownership == S3_UNPROTECTED for s in report.sealed):
        err_console.print(
            "warning: the lake bucket has no policy denying writes under analyses/: sealed"
            " results can still be overwritten (the AWS stack creates OnlyTheBotWritesResults)"
        )
    for analysis_id, reason in report.refused:
        console.print(f"not sealed: analysis {analysis_id}: {reason}")


@task(
    iterable=["experiment"],
    help={
        "env": ENV_HELP,
        "application": "the application (processor) to run",
        "experiment": "experiment id (repeat for several)",
        "force": "admins only: re-run over a SUCCEEDED analysis (old results go to .trash)",
    },
)
def run(
    c: Context, env: str, application: str, experiment: list[str] | None, force: bool = False
) -> None:
    """Run an application on experiments now (creates a process job)."""
    request = request_run(environment(env), application, experiment or [], force=force)
    for analysis_id, trash in request.trashed:
        console.print(f"moved results of analysis {analysis_id} to {trash}")
    console.print(
        f"job {request.job_id}: {request.application} on experiments "
        f"{request.experiment_ids} for {request.run_by}"
    )


ns = Collection("analyses")
ns.add_task(seal)
ns.add_task(run)
