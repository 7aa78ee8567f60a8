"""`inv jobs.survey`: queue a survey of a delivery (a folder, or `s3://bucket/prefix/` in the
cloud) or an ENA accession, or one survey per line of a list file (`--file`, local or s3://;
see ops/jobs/survey_list.py).

Exported as the Task `survey`, to be added to the `jobs` collection.
"""

from __future__ import annotations

from invoke import Context

from common.db import transaction
from common.environments import Environment
from common.errors import ValidationError
from ops.jobs.survey_list import queue_survey_list
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task
from workers.submit import submit_survey


@task(
    help={
        "env": ENV_HELP,
        "source": "a delivery (a folder or s3://bucket/prefix/ with samplesheet.csv) or an "
        "ENA run/study/project accession",
        "json": JSON_HELP,
        "file": "a list of sources, one per line (a local file or s3://bucket/key), instead "
        "of SOURCE",
    },
    positional=["source"],
    optional={"source": "file"},
)
def survey(
    c: Context,
    source: str | None = None,
    env: str | None = None,
    json: bool = False,
    file: str = "",
) -> None:
    """Queue a survey of a delivery (folder or S3) or an ENA accession (or each line of --file)."""
    settings = environment(env)
    if file and source:
        raise ValidationError("give a source or --file LIST, not both")
    if file:
        _survey_list(settings, file, json=json)
        return
    if not source:
        raise ValidationError("give a source (a delivery folder or an accession) or --file LIST")
    with transaction(settings) as conn:
        job_id, payload = submit_survey(conn, source, settings)
    if json:
        print_json({"job_id": job_id, "payload": payload})
        return
    what = payload.get("location") or payload.get("accession")
    console.print(f"survey job {job_id} queued for {payload['source']} {what}")
    console.print(f"follow it with: inv jobs.status -e {env}")


def _survey_list(settings: Environment, location: str, *, json: bool) -> None:
    with transaction(settings) as conn:
        queued = queue_survey_list(conn, settings, location)
    if json:
        print_json([{"line": q.line, "job_id": q.job_id, "payload": q.payload} for q in queued])
        return
    print_table(
        f"{len(queued)} survey jobs queued from {location}",
        ("line", "job", "source", "kind"),
        ((q.line, q.job_id, q.source, q.payload["source"]) for q in queued),
    )
    console.print(f"follow them with: inv jobs.status -e {settings.name}")
