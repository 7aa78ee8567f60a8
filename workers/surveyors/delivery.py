"""The `delivery` surveyor: a sequencing core's delivery folder with a sample sheet.

A delivery is a folder holding `samplesheet.csv` and FASTQ files (plain or gzipped) anywhere
below it. The sheet is a comma-separated file with a header row; one row per sample and
sequencing run (lane):

    column      required  meaning
    project     yes       the delivery's project id (catalog: projects.accession)
    sample_id   yes       the sample's id, unique with run_id
    individual  yes       who (or what) the sample was taken from
    species     yes       e.g. Homo sapiens
    tissue      yes       e.g. blood, liver
    run_id      yes       the sequencing run or lane, e.g. RUN1_L001
    read1       yes       FASTQ path relative to the folder
    read2       no        second-read FASTQ for paired-end runs (empty: single-end)
    read1_md5   no        the core's md5 of read1 (32 hex digits), verified after download
    read2_md5   no        the same for read2
    platform    no        e.g. ILLUMINA
    library     no        library / aliquot name (default: the sample id)

Ids are ASCII letters, digits, `.`, `_` and `-`, at most 100 characters; every other field is
valid text without NUL or control characters, at most 1000. The whole sheet (at most
MAX_SHEET_BYTES) is validated before anything is written: a missing column, an empty field, a
duplicate (sample_id, run_id), a sample whose individual or tissue differs between rows, a
FASTQ listed twice, missing, or outside the folder is a one-line ValidationError. Each row
becomes one experiment `<project>-<sample_id>-<run_id>`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from common.errors import ValidationError
from common.inputs import (
    MAX_ID_LENGTH,
    MAX_PATH_LENGTH,
    MAX_TEXT_LENGTH,
    check_identifier,
    check_text,
    excerpt,
)
from workers.registry import JobContext, handler
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun, record_runs

SAMPLE_SHEET = "samplesheet.csv"
REQUIRED_COLUMNS = ("project", "sample_id", "individual", "species", "tissue", "run_id", "read1")
OPTIONAL_COLUMNS = ("read2", "read1_md5", "read2_md5", "platform", "library")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_MD5 = re.compile(r"[0-9a-f]{32}", re.ASCII)
MAX_SHEET_BYTES = 16 * 1024 * 1024
ID_COLUMNS = ("project", "sample_id", "individual", "run_id")


def read_sample_sheet(folder: str | Path) -> list[SurveyedRun]:
    """Validate the delivery in `folder` and describe its runs (nothing is written)."""
    check_text(str(folder), "the delivery folder's path", max_length=MAX_PATH_LENGTH)
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValidationError(f"delivery folder {root} does not exist or is not a folder")
    root = root.resolve()
    check_text(str(root), "the delivery folder's path", max_length=MAX_PATH_LENGTH)
    sheet = root / SAMPLE_SHEET
    if not sheet.is_file():
        raise ValidationError(f"{sheet} is missing: a delivery needs a {SAMPLE_SHEET}")
    if sheet.stat().st_size > MAX_SHEET_BYTES:
        raise ValidationError(f"{sheet} is larger than {MAX_SHEET_BYTES // 2**20} MB")
    try:
        with open(sheet, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = header
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError(f"{sheet}: not a readable CSV file ({exc})") from None
    for name in header:
        check_text(name, f"{sheet}: a column name", max_length=MAX_ID_LENGTH)
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationError(
            f"{sheet}: missing column {missing[0]!r} (required: {', '.join(REQUIRED_COLUMNS)})"
        )
    unknown = sorted(set(header) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
    if unknown:
        raise ValidationError(f"{sheet}: unknown column {excerpt(unknown[0])}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValidationError(f"{sheet}: column {repeated[0]!r} appears twice")
    if not rows:
        raise ValidationError(f"{sheet}: no samples listed")
    runs: list[SurveyedRun] = []
    seen_runs: set[tuple[str, str]] = set()
    seen_files: dict[Path, int] = {}
    samples: dict[str, tuple[str, str, str]] = {}
    for line, row in enumerate(rows, start=2):
        runs.append(_run_from_row(root, sheet, line, row, seen_runs, seen_files, samples))
    return runs


def _run_from_row(
    root: Path,
    sheet: Path,
    line: int,
    row: dict[str, Any],
    seen_runs: set[tuple[str, str]],
    seen_files: dict[Path, int],
    samples: dict[str, tuple[str, str, str]],
) -> SurveyedRun:
    where = f"{sheet.name} line {line}"
    if None in row:
        raise ValidationError(f"{where}: more fields than columns")
    values = {key: (value or "").strip() for key, value in row.items()}
    for column, value in values.items():
        limit = MAX_ID_LENGTH if column in ID_COLUMNS else MAX_TEXT_LENGTH
        check_text(value, f"{where}: {column}", max_length=limit)
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise ValidationError(f"{where}: {column} is empty")
    for column in ID_COLUMNS:
        check_identifier(
            values[column],
            f"{where}: {column}",
            _ID,
            hint="may only hold letters, digits, . _ - (ASCII)",
        )
    sample, run_id = values["sample_id"], values["run_id"]
    if (sample, run_id) in seen_runs:
        raise ValidationError(f"{where}: duplicate sample {sample} run {run_id}")
    seen_runs.add((sample, run_id))
    identity = (values["individual"], values["tissue"], values["species"])
    if samples.setdefault(sample, identity) != identity:
        raise ValidationError(
            f"{where}: sample {sample} has a different individual, tissue or species than "
            "on an earlier line"
        )
    reads = [("read1", "read1_md5")]
    if values.get("read2"):
        reads.append(("read2", "read2_md5"))
    elif values.get("read2_md5"):
        raise ValidationError(f"{where}: read2_md5 is set but read2 is empty")
    files = []
    for column, md5_column in reads:
        path = _fastq_path(root, where, column, values[column])
        if path in seen_files:
            raise ValidationError(
                f"{where}: {values[column]} is already listed on line {seen_files[path]}"
            )
        seen_files[path] = line
        md5 = values.get(md5_column, "").lower() or None
        if md5 is not None and not _MD5.fullmatch(md5):
            raise ValidationError(f"{where}: {md5_column} is not 32 hex digits")
        files.append(SurveyedFile(path.name, path.as_uri(), path.stat().st_size, md5))
    if len({file.name for file in files}) != len(files):
        raise ValidationError(f"{where}: read1 and read2 have the same file name")
    return SurveyedRun(
        project=values["project"],
        individual=values["individual"],
        species=values["species"],
        sample=sample,
        tissue=values["tissue"],
        aliquot=values.get("library") or sample,
        experiment=f"{values['project']}-{sample}-{run_id}",
        files=tuple(files),
        library_layout="PAIRED" if len(files) == 2 else "SINGLE",
        platform=values.get("platform", "").upper(),
        metadata={"run_id": run_id, "delivery": str(root)},
    )


def _fastq_path(root: Path, where: str, column: str, value: str) -> Path:
    relative = Path(value)
    if relative.is_absolute():
        raise ValidationError(
            f"{where}: {column} {excerpt(value)} must be relative to the delivery"
        )
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValidationError(
            f"{where}: {column} {excerpt(value)} points outside the delivery folder"
        )
    if not path.is_file():
        raise ValidationError(f"{where}: {column} {value} does not exist in the delivery")
    return path


@handler("survey", "delivery")
def survey_delivery(ctx: JobContext) -> dict[str, Any]:
    """Catalog a delivery folder and queue a download per FASTQ file."""
    location = ctx.job.payload.get("location")
    if not isinstance(location, str) or not location:
        raise ValidationError("survey payload needs 'location': the delivery folder")
    runs = read_sample_sheet(location)
    result = record_runs(ctx.conn, "delivery", runs, parent_job_id=ctx.job.id)
    ctx.log.info("surveyed delivery %s: %d runs", location, len(runs))
    return {"source": "delivery", "location": location, **result}
