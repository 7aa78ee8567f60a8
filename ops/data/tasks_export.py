"""`inv data.export`: a project, or one experiment, as a validated BagIt bag."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, task


@task(
    help={
        "env": ENV_HELP,
        "project": "the project's code",
        "to": "a folder, or s3://bucket/prefix; the bag is <project>[-<experiment>] in it",
        "experiment": "export only this experiment (accession)",
        "json": JSON_HELP,
    }
)
def export(
    c: Context, env: str, project: str, to: str, experiment: str = "", json: bool = False
) -> None:
    """Export a project's metadata, files and analyses as a BagIt bag, verified; resumable."""
    from ops.data.export import export_project
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display() as progress:
        report = export_project(
            settings, project, to, experiment=experiment or None, progress=progress
        )
    if json:
        print_json(report.__dict__)
        return
    console.print(
        f"bag {report.bag}: {report.experiments} experiments, {report.files_copied} files "
        f"copied ({report.bytes_copied:,} bytes), {report.files_reused} already there, "
        f"validated"
    )
    if report.uploaded:
        console.print(f"uploaded {report.uploaded} objects, each checked after the copy")
    for key in report.files_missing:
        console.print(f"not in the lake yet, left out: {key}")
