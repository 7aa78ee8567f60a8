"""`inv data.*`: deleting imported data safely (see ops/runbooks/delete_experiment.py)."""

from __future__ import annotations

from invoke import Collection, Context

from ops.data.tasks_export import export
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(
    help={
        "env": ENV_HELP,
        "experiment": "experiment id or accession",
        "execute": "really delete (default: dry run listing every row and lake path)",
        "json": JSON_HELP,
    }
)
def delete(
    c: Context, env: str, experiment: str, execute: bool = False, json: bool = False
) -> None:
    """Delete an experiment and what derives from it (dry run unless --execute)."""
    from ops.progress import progress_display
    from ops.runbooks.delete_experiment import delete_experiment, validate_reference

    settings = environment(env)
    with progress_display(enabled=not json) as progress:
        report = delete_experiment(
            settings, validate_reference(experiment), execute=execute, progress=progress
        )
    plan = report.plan
    if json:
        print_json(
            {
                "executed": report.executed,
                "backup": report.backup,
                "recovered": report.recovered,
                "rows": plan.rows(),
                "lake_paths": plan.lake_paths,
            }
        )
        return
    for line in report.recovered:
        console.print(f"recovered an interrupted deletion: {line}")
    verb = "deleted" if report.executed else "would delete"
    print_table(f"{verb}: experiment {plan.accession}", ("table", "rows"), plan.rows())
    print_table(f"{verb}: lake folders", ("path",), ((p,) for p in plan.lake_paths))
    if report.executed:
        console.print(
            f"verified backup taken first: {report.backup} (inv db.backups -e {settings.name})"
        )
    else:
        console.print("dry run: nothing changed; add --execute to delete")


@task(help={"env": ENV_HELP})
def recover(c: Context, env: str) -> None:
    """Finish or undo a data.delete that was interrupted (also done by every data.delete)."""
    from common.lake import open_lake
    from ops.runbooks.delete_experiment import recover_interrupted

    settings = environment(env)
    done = recover_interrupted(settings, open_lake(settings))
    for line in done:
        console.print(line)
    if not done:
        console.print("nothing to recover")


ns = Collection("data")
ns.add_task(delete)
ns.add_task(recover)
ns.add_task(export)
