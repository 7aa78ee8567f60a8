"""`inv jobs.survey`: queue a survey of a delivery (a folder, or `s3://bucket/prefix/` in the
cloud), an ENA accession or a GEO series, or one survey per line of a list file (`--file`,
local or s3://; see ops/jobs/survey_list.py).

Exported as the Task `survey`, to be added to the `jobs` collection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context

from common.errors import ValidationError
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task

if TYPE_CHECKING:
    from common.environments import Environment


@task(
    help={
        "env": ENV_HELP,
        "source": "a delivery (a folder or s3://bucket/prefix/ with samplesheet.csv) or an "
        "ENA run/study/project accession, or a GEO series (GSE…, looked up at GEO first)",
        "json": JSON_HELP,
        "file": "a list of sources, one per line (a local file or s3://bucket/key), instead",
    },
    positional=["source"],
)
def survey(
    c: Context,
    source: str | None = None,
    env: str | None = None,
    json: bool = False,
    file: str = "",
) -> None:
    """Queue a survey of a delivery (folder or S3), an ENA accession or a GEO series (or each
    line of --file)."""
    from common.db import transaction
    from workers.submit import submit_survey

    settings = environment(env)
    if file:
        if source:
            raise ValidationError("give a source or --file, not both")
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
    from common.db import transaction
    from ops.jobs.survey_list import queue_survey_list

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
