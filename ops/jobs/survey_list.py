"""A file of sources to survey (refine.bio's `survey_all --file`): one survey job per line.

The list is a local file or an `s3://bucket/key` object; each line is what `inv jobs.survey`
takes (a delivery folder or an ENA accession); blank lines and `#` comments are skipped.
Every line is validated first, and the list is refused as a whole, naming every bad line,
when any is malformed or repeats an earlier one: nothing is queued then. Otherwise all the
jobs are queued in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg2.extensions import connection as Connection

from common.environments import Environment
from common.errors import StorageError, ValidationError
from common.inputs import user_path
from common.lake.s3 import parse_s3_url, s3_client
from foreman.jobs import enqueue_job
from workers.submit import survey_payload

MAX_LIST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class QueuedSurvey:
    line: int
    source: str
    job_id: int
    payload: dict[str, str]


def read_survey_list(env: Environment, location: str) -> str:
    """The list's text, from a local file or S3."""
    if location.startswith("s3://"):
        bucket, key = parse_s3_url(location)
        if not key:
            raise ValidationError(f"{location} names a bucket, not a list file")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = s3_client(env).get_object(Bucket=bucket, Key=key)["Body"]
            data = body.read(MAX_LIST_BYTES + 1)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot read {location}: {exc}") from None
    else:
        path = user_path(location, "survey list")
        if not path.is_file():
            raise ValidationError(f"survey list {location} does not exist or is not a file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise ValidationError(f"survey list {location} is over {MAX_LIST_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"survey list {location} is not UTF-8 text") from None


def survey_list_payloads(
    text: str, location: str, env: Environment | None = None
) -> list[tuple[int, str, dict[str, str]]]:
    """(line, source, payload) for every listed source; one error naming every bad line.
    GEO series are looked up at `env`'s GEO."""
    found: list[tuple[int, str, dict[str, str]]] = []
    problems: list[str] = []
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        source = raw.strip()
        if not source or source.startswith("#"):
            continue
        try:
            payload = survey_payload(source, env)
        except ValidationError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        identity = tuple(sorted(payload.items()))
        if identity in seen:
            problems.append(f"line {number}: {source} repeats line {seen[identity]}")
            continue
        seen[identity] = number
        found.append((number, source, payload))
    if problems:
        count = f"{len(problems)} bad lines" if len(problems) > 1 else "a bad line"
        raise ValidationError(f"{location}: {count}, nothing queued: {'; '.join(problems)}")
    if not found:
        raise ValidationError(f"{location}: no sources listed, nothing queued")
    return found


def queue_survey_list(conn: Connection, env: Environment, location: str) -> list[QueuedSurvey]:
    """Validate the whole list, then queue one survey per line (the caller commits)."""
    entries = survey_list_payloads(read_survey_list(env, location), location, env)
    queued = []
    for number, source, payload in entries:
        job_id, _created = enqueue_job(conn, "survey", payload)
        queued.append(QueuedSurvey(number, source, job_id, payload))
    return queued
