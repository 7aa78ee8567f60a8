"""The `ena` surveyor: runs of a public archive accession, from the ENA Portal API.

One request, `filereport?accession=ACC&result=read_run&fields=…&format=tsv`, lists every run of
a run, study or project accession with its FASTQ files: `fastq_ftp`, `fastq_md5` and
`fastq_bytes` are `;`-separated lists, position by position (the library layout does not say
how many files a run has; these lists do). File paths carry no scheme; the archive serves them
over HTTPS.

The service has answered 200 with an empty or cut-off body during incidents, so a body without
the expected header, a row with the wrong number of fields or lists of unequal length is a
failure to retry — never "no files". An answer with the header and no rows, or a 4xx, means
the archive does not know the accession.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import requests

from common.errors import JobError, ValidationError, first_line
from common.inputs import excerpt, is_digits
from common.settings.jobs import EnaSettings
from workers.registry import JobContext, handler
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun, record_runs

log = logging.getLogger(__name__)

# ASCII digits only (`\d` would take any Unicode digit), and a bounded length.
_ACCESSION = re.compile(r"(?:(?:SRR|ERR|DRR|SRP|ERP|DRP)[0-9]{6,12}|PRJ(?:NA|EB|DB)[0-9]{3,12})")
MAX_ACCESSION_LENGTH = 20
REQUIRED_FIELDS = ("run_accession", "fastq_ftp", "fastq_md5", "fastq_bytes")
OPTIONAL_FIELDS = (
    "study_accession",
    "secondary_study_accession",
    "study_title",
    "experiment_accession",
    "sample_accession",
    "secondary_sample_accession",
    "sample_alias",
    "sample_title",
    "scientific_name",
    "tax_id",
    "library_layout",
    "library_strategy",
    "library_source",
    "instrument_platform",
    "instrument_model",
    "read_count",
    "base_count",
)
_MD5 = re.compile(r"^[0-9a-f]{32}$")


class MalformedReport(JobError):
    """The archive's answer is incomplete or inconsistent: ask again."""


class UnknownAccession(ValidationError):
    """The archive has no runs for the accession."""


def validate_accession(value: str) -> str:
    """The accession, upper-cased; a ValidationError before any request when malformed."""
    accession = (value or "").strip().upper()
    if not looks_like_accession(accession):
        raise ValidationError(
            f"{excerpt(value or '')} is not an ENA run, study or project accession "
            "(SRR/ERR/DRR…, SRP/ERP/DRP…, PRJNA/PRJEB/PRJDB… and ASCII digits)"
        )
    return accession


def looks_like_accession(value: str) -> bool:
    accession = (value or "").strip().upper()
    return (
        len(accession) <= MAX_ACCESSION_LENGTH
        and accession.isascii()
        and _ACCESSION.fullmatch(accession) is not None
    )


@dataclass(frozen=True)
class EnaFile:
    path: str
    md5: str
    size_bytes: int


def parse_file_report(text: str, accession: str) -> list[dict[str, Any]]:
    """Rows of a TSV file report, each with a `files` list; raises on anything incomplete."""
    if not text.strip():
        raise MalformedReport(f"ENA answered an empty file report for {accession}; retry later")
    if not text.endswith("\n"):
        raise MalformedReport(f"ENA's file report for {accession} was cut off; retry later")
    lines = text.rstrip("\n").split("\n")
    header = lines[0].rstrip("\r").split("\t")
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if missing:
        raise MalformedReport(
            f"ENA's file report for {accession} has no {missing[0]} column; retry later"
        )
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        values = line.rstrip("\r").split("\t")
        if len(values) != len(header):
            raise MalformedReport(
                f"ENA's file report for {accession} line {number} has {len(values)} fields, "
                f"not {len(header)}; retry later"
            )
        row: dict[str, Any] = dict(zip(header, values, strict=True))
        row["files"] = _files_of(row, accession)
        rows.append(row)
    if not rows:
        raise UnknownAccession(f"ENA has no runs for {accession}; check the accession")
    return rows


def _files_of(row: dict[str, str], accession: str) -> list[EnaFile]:
    run = row["run_accession"]
    lists = [row[name].split(";") if row[name] else [] for name in REQUIRED_FIELDS[1:]]
    paths, md5s, sizes = lists
    if not (len(paths) == len(md5s) == len(sizes)):
        raise MalformedReport(
            f"ENA's file report for {accession}: run {run} lists {len(paths)} files, "
            f"{len(md5s)} md5s and {len(sizes)} sizes; retry later"
        )
    files = []
    for path, md5, size in zip(paths, md5s, sizes, strict=True):
        md5 = md5.strip().lower()
        if not path or not _MD5.match(md5) or not is_digits(size):
            raise MalformedReport(
                f"ENA's file report for {accession}: run {run} has a malformed file entry; "
                "retry later"
            )
        files.append(EnaFile(path.strip(), md5, int(size)))
    return files


def fetch_file_report(settings: EnaSettings, accession: str) -> list[dict[str, Any]]:
    """The parsed file report, asking again with backoff when the answer is unusable."""
    url = settings.portal_url.rstrip("/") + "/filereport"
    params = {
        "accession": accession,
        "result": "read_run",
        "fields": ",".join((*REQUIRED_FIELDS, *OPTIONAL_FIELDS)),
        "format": "tsv",
    }
    last_problem = ""
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        try:
            response = requests.get(url, params=params, timeout=settings.timeout_seconds)
        except requests.RequestException as exc:
            last_problem = first_line(exc, typed=True)
            log.warning(
                "ENA request for %s failed: %s",
                accession,
                last_problem,
                extra={"accession": accession},
            )
            continue
        if response.status_code == 204:
            raise UnknownAccession(f"ENA has no runs for {accession}; check the accession")
        if response.status_code == 429 or response.status_code >= 500:
            last_problem = f"HTTP {response.status_code}"
            log.warning(
                "ENA answered %s for %s", last_problem, accession, extra={"accession": accession}
            )
            continue
        if 400 <= response.status_code < 500:
            raise UnknownAccession(
                f"ENA refused {accession} (HTTP {response.status_code}); check the accession"
            )
        try:
            return parse_file_report(response.text, accession)
        except MalformedReport as exc:
            last_problem = str(exc)
            log.warning("%s", exc, extra={"accession": accession})
    raise JobError(
        f"ENA file report for {accession} failed after {settings.retries + 1} tries "
        f"({last_problem}); the job will be retried"
    )


def archive_url(path: str, scheme: str = "https", mirror: str = "") -> str:
    """The download URL of a scheme-less archive path (`ftp.sra.ebi.ac.uk/vol1/…`): on the
    archive's host, or under `mirror` (`<mirror>/ftp.sra.ebi.ac.uk/vol1/…`)."""
    if "://" in path:
        return path
    if mirror:
        return f"{mirror.rstrip('/')}/{path.lstrip('/')}"
    return f"{scheme}://{path.lstrip('/')}"


def runs_from_report(
    rows: list[dict[str, Any]], accession: str, *, scheme: str = "https", mirror: str = ""
) -> tuple[list[SurveyedRun], list[str]]:
    """Catalog runs for report rows, and the runs that have no FASTQ files."""
    runs: list[SurveyedRun] = []
    without_files: list[str] = []
    for row in rows:
        run = row["run_accession"]
        if not row["files"]:
            without_files.append(run)
            continue
        project = row.get("study_accession") or row.get("secondary_study_accession") or accession
        sample = row.get("sample_accession") or row.get("secondary_sample_accession") or run
        layout = row.get("library_layout", "").upper()
        metadata = {
            key: row[key]
            for key in (
                "experiment_accession",
                "secondary_study_accession",
                "library_strategy",
                "library_source",
                "instrument_model",
                "read_count",
                "base_count",
            )
            if row.get(key)
        }
        runs.append(
            SurveyedRun(
                project=project,
                project_title=row.get("study_title", ""),
                individual=sample,
                species=row.get("scientific_name", ""),
                sample=sample,
                tissue="",
                sample_metadata={
                    key: row[key]
                    for key in (
                        "secondary_sample_accession",
                        "sample_alias",
                        "sample_title",
                        "tax_id",
                    )
                    if row.get(key)
                },
                aliquot=row.get("experiment_accession") or run,
                experiment=run,
                library_layout=layout if layout in ("SINGLE", "PAIRED") else "",
                platform=row.get("instrument_platform", ""),
                metadata=metadata,
                files=tuple(
                    SurveyedFile(
                        name=file.path.rsplit("/", 1)[-1],
                        source_url=archive_url(file.path, scheme, mirror),
                        size_bytes=file.size_bytes,
                        md5=file.md5,
                    )
                    for file in row["files"]
                ),
            )
        )
    return runs, without_files


@handler("survey", "ena")
def survey_ena(ctx: JobContext) -> dict[str, Any]:
    """Catalog the runs of an ENA accession and queue a download per FASTQ file."""
    accession = validate_accession(str(ctx.job.payload.get("accession", "")))
    settings = EnaSettings.for_environment(ctx.env)
    rows = fetch_file_report(settings, accession)
    runs, without_files = runs_from_report(
        rows, accession, scheme=settings.archive_scheme, mirror=settings.archive_mirror_url
    )
    result = record_runs(ctx.conn, "ena", runs, parent_job_id=ctx.job.id)
    ctx.log.info("surveyed ENA %s: %d runs", accession, len(runs))
    return {
        "source": "ena",
        "accession": accession,
        "runs_without_fastq": without_files,
        **result,
    }
