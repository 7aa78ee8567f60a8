"""A file of sources to survey (refine.bio's `survey_all --file`): one survey job per line.

The list is a local file or an `s3://bucket/key` object; each line is what `inv jobs.survey`
takes (a delivery folder or an ENA accession); blank lines and `#` comments are skipped.
Every line goes through the same path as a single `inv jobs.survey SOURCE`
(`workers.submit.submit_survey`, with the environment, so an `s3://` delivery is read with its
S3 settings), all in the caller's one transaction. The list is refused as a whole, naming every
bad line, when any is malformed or repeats an earlier one: the caller's transaction is then
rolled back and nothing is queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg2.extensions import connection as Connection

from common.environments import Environment
from common.errors import StorageError, ValidationError
from common.inputs import user_path
from common.lake.s3 import parse_s3_url, s3_client
from workers.submit import submit_survey

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


def queue_survey_list(conn: Connection, env: Environment, location: str) -> list[QueuedSurvey]:
    """Queue one survey per listed source (the caller commits); one error naming every bad
    line, after which the caller's transaction must be rolled back."""
    text = read_survey_list(env, location)
    queued: list[QueuedSurvey] = []
    problems: list[str] = []
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        source = raw.strip()
        if not source or source.startswith("#"):
            continue
        try:
            job_id, payload = submit_survey(conn, source, env)
        except ValidationError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        identity = tuple(sorted(payload.items()))
        if identity in seen:
            problems.append(f"line {number}: {source} repeats line {seen[identity]}")
            continue
        seen[identity] = number
        queued.append(QueuedSurvey(number, source, job_id, payload))
    if problems:
        count = f"{len(problems)} bad lines" if len(problems) > 1 else "a bad line"
        raise ValidationError(f"{location}: {count}, nothing queued: {'; '.join(problems)}")
    if not queued:
        raise ValidationError(f"{location}: no sources listed, nothing queued")
    return queued
