"""`inv analyses.*`: run applications on demand; seal finished results."""

from __future__ import annotations

from invoke import Collection, Context

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
    from ops.analyses.seal import S3_PROTECTED, S3_UNPROTECTED, seal_finished_analyses

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
    from ops.analyses.run import request_run

    request = request_run(environment(env), application, experiment or [], force=force)
    for analysis_id, trash in request.trashed:
        console.print(f"moved results of analysis {analysis_id} to {trash}")
    console.print(
        f"job {request.job_id}: {request.application} on experiments "
        f"{request.experiment_ids} for {request.run_by}"
    )


@task(
    help={
        "env": ENV_HELP,
        "experiment": "the experiment (a project's accession, e.g. a delivery's project id)",
    }
)
def summarise(c: Context, env: str, experiment: str) -> None:
    """Make an experiment's gene-level matrix now, from the samples quantified so far."""
    from ops.analyses.rnaseq import force_summary

    job_id, project_id = force_summary(environment(env), experiment)
    console.print(f"job {job_id}: summarise project {project_id} ({experiment}) to gene level")


@task(
    help={
        "env": ENV_HELP,
        "organism": "only samples of this organism",
        "execute": "queue the re-quantifications (default: a dry run that lists them)",
        "json": JSON_HELP,
    }
)
def requant(
    c: Context, env: str, organism: str | None = None, execute: bool = False, json: bool = False
) -> None:
    """Re-quantify samples whose results came from an older index or salmon version."""
    from ops.analyses.rnaseq import requant_plan

    plan = requant_plan(environment(env), organism, execute=execute)
    if json:
        print_json({"executed": plan.executed, "samples": plan.samples, "queued": plan.queued})
        return
    verb = "queued" if plan.executed else "would queue"
    print_table(
        f"{verb} {len(plan.samples)} re-quantifications",
        ("experiment", "organism", "index", "salmon", "newest index", "newest salmon", "job"),
        ((s["accession"], s["organism"], s["index_id"], s["salmon_version"],
          s["newest_index_id"], s["newest_salmon_version"],
          plan.queued.get(s["experiment_id"], "")) for s in plan.samples),
    )  # fmt: skip
    if not plan.executed and plan.samples:
        console.print("dry run: add --execute to queue them")


ns = Collection("analyses")
ns.add_task(seal)
ns.add_task(run)
ns.add_task(summarise)
ns.add_task(requant)
