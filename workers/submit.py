"""Starting work from outside: survey jobs from a source, and how far a job's tree has got.

`survey_payload` decides what a source is (an existing folder or an `s3://bucket/prefix/`
→ a delivery, `GSE…` → a GEO series, `E-…` → an ArrayExpress experiment, else an ENA
accession) and validates it before anything
is queued, so a typo never becomes a failed job: text that is not valid UTF-8, holds control
characters or is longer than any path is refused. An S3 delivery is read with the
environment's S3 settings; a GEO series is looked up at GEO (the environment's `[geo]`) and an
ArrayExpress experiment at BioStudies (`[arrayexpress]`), so one they do not know is refused
too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.environments import Environment
from common.errors import ValidationError
from common.inputs import MAX_PATH_LENGTH, check_text, shown, user_path
from common.settings.jobs import ArrayExpressSettings, GeoSettings
from common.sql import query
from foreman.jobs import FINAL_STATES, enqueue_job
from workers.surveyors.arrayexpress import (
    looks_like_experiment,
    resolve_study,
    validate_experiment_accession,
)
from workers.surveyors.delivery import read_delivery, read_sample_sheet
from workers.surveyors.delivery_sources import S3Delivery
from workers.surveyors.ena import looks_like_accession, validate_accession
from workers.surveyors.geo import looks_like_series, resolve_series, validate_series_accession


def survey_payload(source: str, env: Environment | None = None) -> dict[str, str]:
    """The survey job payload for `source`: a delivery folder, an S3 delivery (read with
    `env`'s S3 settings), a GEO series (looked up at `env`'s GEO), an ArrayExpress experiment
    (looked up at `env`'s BioStudies) or an ENA accession."""
    text = check_text(source, "the survey source", max_length=MAX_PATH_LENGTH).strip()
    if not text:
        raise ValidationError("give a delivery folder or an ENA accession to survey")
    if text.startswith("s3://"):
        from common.lake.s3 import s3_client

        if env is None:
            raise ValidationError(f"{text}: an S3 delivery is surveyed within an environment")
        delivery = S3Delivery.open(text, s3_client(env))
        read_delivery(delivery)
        return {"source": "delivery", "location": delivery.location}
    path = user_path(text, "delivery folder")
    if path.is_dir():
        read_sample_sheet(path)
        return {"source": "delivery", "location": str(path.resolve())}
    if looks_like_series(text):
        accession = validate_series_accession(text)
        if env is None:
            raise ValidationError(f"{accession}: a GEO series is looked up within an environment")
        resolve_series(GeoSettings.for_environment(env), accession)
        return {"source": "geo", "accession": accession}
    if looks_like_experiment(text):
        accession = validate_experiment_accession(text)
        if env is None:
            raise ValidationError(f"{accession}: an experiment is looked up within an environment")
        resolve_study(ArrayExpressSettings.for_environment(env), accession)
        return {"source": "arrayexpress", "accession": accession}
    if looks_like_accession(text):
        return {"source": "ena", "accession": validate_accession(text)}
    if "/" in text or text.startswith("."):
        raise ValidationError(f"delivery folder {shown(text)} does not exist")
    return {"source": "ena", "accession": validate_accession(text)}


def submit_survey(
    conn: Connection, source: str, env: Environment | None = None
) -> tuple[int, dict[str, str]]:
    """Validate `source` and queue its survey job (the caller commits): (job id, payload)."""
    payload = survey_payload(source, env)
    job_id, _created = enqueue_job(conn, "survey", payload)
    return job_id, payload


@dataclass(frozen=True)
class JobTreeProgress:
    """How many jobs a root job has led to, and how many of them have ended."""

    total: int
    finished: int
    succeeded: int
    failed: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def active(self) -> int:
        return self.total - self.finished

    @property
    def done(self) -> bool:
        return self.total > 0 and self.active == 0


def job_tree_progress(conn: Connection, root_job_id: int) -> JobTreeProgress:
    """Progress of `root_job_id` and every job it created (read in one statement)."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(query(__file__, "submit.sql", "job_tree"), {"root_job_id": root_job_id})
        rows = cur.fetchall()
    finished = [row for row in rows if row["state"] in FINAL_STATES]
    return JobTreeProgress(
        total=len(rows),
        finished=len(finished),
        succeeded=sum(row["state"] == "succeeded" for row in rows),
        failed=[
            (row["id"], row["kind"], row["failure_reason"] or row["state"])
            for row in finished
            if row["state"] != "succeeded"
        ],
    )
