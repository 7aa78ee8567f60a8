"""`inv jobs.survey`: queue a survey of a delivery (a folder, or `s3://bucket/prefix/` in the
cloud) or an ENA accession.

Exported as the Task `survey`, to be added to the `jobs` collection.
"""

from __future__ import annotations

from common.db import transaction
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, task
from workers.submit import submit_survey


@task(
    help={
        "env": ENV_HELP,
        "source": "a delivery (a folder or s3://bucket/prefix/ with samplesheet.csv) or an "
        "ENA run/study/project accession",
        "json": JSON_HELP,
    }
)
def survey(c, source, env="local", json=False):
    """Queue a survey of a delivery (folder or S3) or an ENA accession; prints the job id."""
    settings = environment(env)
    with transaction(settings) as conn:
        job_id, payload = submit_survey(conn, source, settings)
    if json:
        print_json({"job_id": job_id, "payload": payload})
        return
    what = payload.get("location") or payload.get("accession")
    console.print(f"survey job {job_id} queued for {payload['source']} {what}")
    console.print(f"follow it with: inv jobs.status -e {env}")
