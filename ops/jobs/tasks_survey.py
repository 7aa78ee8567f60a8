"""`inv jobs.survey`: queue a survey of a delivery (a folder, or `s3://bucket/prefix/` in the
cloud), an ENA accession, a GEO series or an ArrayExpress experiment, or one survey per line of
a list file (`--file`, local or s3://; see ops/jobs/survey_list.py).

Exported as the Task `survey`, to be added to the `jobs` collection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context

from common.errors import JobError, ValidationError
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

if TYPE_CHECKING:
    from common.environments import Environment


@task(
    help={
        "env": ENV_HELP,
        "source": "a delivery (a folder or s3://bucket/prefix/ with samplesheet.csv) or an "
        "ENA run/study/project accession, a GEO series (GSE…, looked up at GEO first) or an "
        "ArrayExpress experiment (E-MTAB-…, looked up at BioStudies first)",
        "json": JSON_HELP,
        "file": "a list of sources, one per line (a local file or s3://bucket/key), instead "
        "of SOURCE",
        "wait": "wait until each survey and every job it leads to has ended; exit 1 if any "
        "did not succeed",
        "timeout": "with --wait: stop waiting after this many seconds (default 3600)",
    },
    bounds={"timeout": (1, 86_400)},
    positional=["source"],
    positional_unless={"source": "file"},
)
def survey(
    c: Context,
    source: str | None = None,
    env: str | None = None,
    json: bool = False,
    file: str = "",
    wait: bool = False,
    timeout: int = 3600,
) -> None:
    """Queue a survey of a delivery (folder or S3), an ENA accession, a GEO series or an
    ArrayExpress experiment (or each line of --file)."""
    from common.db import transaction
    from workers.submit import submit_survey

    settings = environment(env)
    if file and source:
        raise ValidationError("give a source or --file LIST, not both")
    if file:
        roots = _survey_list(settings, file, json=json)
    elif not source:
        raise ValidationError("give a source (a delivery folder or an accession) or --file LIST")
    else:
        with transaction(settings) as conn:
            job_id, payload = submit_survey(conn, source, settings)
        roots = [job_id]
        if json:
            print_json({"job_id": job_id, "payload": payload})
        else:
            what = payload.get("location") or payload.get("accession")
            console.print(f"survey job {job_id} queued for {payload['source']} {what}")
            if not wait:
                console.print(f"follow it with: inv jobs.status -e {settings.name}")
    if wait:
        for root in roots:
            _wait(settings, root, timeout)


def _wait(env: Environment, root: int, timeout: float) -> None:
    from ops.job_wait import wait_for_job_tree

    state = wait_for_job_tree(env, root, timeout=timeout)
    if state.failed:
        job, kind, reason = state.failed[0]
        raise JobError(
            f"{len(state.failed)} of the {state.total} jobs of survey {root} did not succeed, "
            f"first job {job} ({kind}): {reason}; see inv jobs.status -e {env.name}"
        )
    if not state.done:
        raise JobError(
            f"{state.active} jobs of survey {root} still unfinished after {timeout:.0f} s; is "
            f"the foreman running? (inv jobs.status -e {env.name})"
        )
    err_console.print(f"survey job {root} and the {state.total - 1} jobs it led to succeeded")


def _survey_list(env: Environment, location: str, *, json: bool) -> list[int]:
    from common.db import transaction
    from ops.jobs.survey_list import queue_survey_list

    with transaction(env) as conn:
        queued = queue_survey_list(conn, env, location)
    if json:
        print_json([{"line": q.line, "job_id": q.job_id, "payload": q.payload} for q in queued])
        return [q.job_id for q in queued]
    print_table(
        f"{len(queued)} survey jobs queued from {location}",
        ("line", "job", "source", "kind"),
        ((q.line, q.job_id, q.source, q.payload["source"]) for q in queued),
    )
    console.print(f"follow them with: inv jobs.status -e {env.name}")
    return [q.job_id for q in queued]
