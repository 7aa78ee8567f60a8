"""The `delivery` surveyor: a sequencing core's delivery with a sample sheet.

A delivery is a folder — on a shared drive, or an S3 prefix `s3://bucket/prefix/` in the
cloud (workers.surveyors.delivery_sources) — holding `samplesheet.csv` and FASTQ files (plain
or gzipped) anywhere below it. The same rules hold wherever it is. The sheet is a
comma-separated file with a header row; one row per sample and sequencing run (lane):

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

Ids are letters, digits, `.`, `_` and `-`. The whole sheet is validated before anything is
written: a missing column, an empty field, a duplicate (sample_id, run_id), a sample whose
individual or tissue differs between rows, a FASTQ listed twice, missing, or outside the folder
is a one-line ValidationError. Each row becomes one experiment `<project>-<sample_id>-<run_id>`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from common.errors import ValidationError
from common.lake.s3 import s3_client
from workers.registry import JobContext, handler
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun, record_runs
from workers.surveyors.delivery_sources import (
    SAMPLE_SHEET,
    DeliverySource,
    FolderDelivery,
    open_delivery,
)

REQUIRED_COLUMNS = ("project", "sample_id", "individual", "species", "tissue", "run_id", "read1")
OPTIONAL_COLUMNS = ("read2", "read1_md5", "read2_md5", "platform", "library")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
ID_COLUMNS = ("project", "sample_id", "individual", "run_id")


def read_sample_sheet(folder: str | Path) -> list[SurveyedRun]:
    """Validate the delivery folder `folder` and describe its runs (nothing is written)."""
    return read_delivery(FolderDelivery.open(folder))


def read_delivery(source: DeliverySource) -> list[SurveyedRun]:
    """Validate the delivery at `source` (folder or S3) and describe its runs."""
    sheet = source.sheet_name
    text = source.sheet_text()
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = list(reader)
    except csv.Error as exc:
        raise ValidationError(f"{sheet}: not a readable CSV file ({exc})") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationError(
            f"{sheet}: missing column {missing[0]!r} (required: {', '.join(REQUIRED_COLUMNS)})"
        )
    unknown = sorted(set(header) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
    if unknown:
        raise ValidationError(f"{sheet}: unknown column {unknown[0]!r}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValidationError(f"{sheet}: column {repeated[0]!r} appears twice")
    if not rows:
        raise ValidationError(f"{sheet}: no samples listed")
    runs: list[SurveyedRun] = []
    seen_runs: set[tuple[str, str]] = set()
    seen_files: dict[str, int] = {}
    samples: dict[str, tuple[str, str, str]] = {}
    for line, row in enumerate(rows, start=2):
        runs.append(_run_from_row(source, line, row, seen_runs, seen_files, samples))
    return runs


def _run_from_row(
    source: DeliverySource,
    line: int,
    row: dict[str, Any],
    seen_runs: set[tuple[str, str]],
    seen_files: dict[str, int],
    samples: dict[str, tuple[str, str, str]],
) -> SurveyedRun:
    where = f"{SAMPLE_SHEET} line {line}"
    if None in row:
        raise ValidationError(f"{where}: more fields than columns")
    values = {key: (value or "").strip() for key, value in row.items()}
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise ValidationError(f"{where}: {column} is empty")
    for column in ID_COLUMNS:
        if not _ID.match(values[column]):
            raise ValidationError(
                f"{where}: {column} {values[column]!r} may only hold letters, digits, . _ -"
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
        found = source.locate(where, column, values[column])
        if found.key in seen_files:
            raise ValidationError(
                f"{where}: {values[column]} is already listed on line {seen_files[found.key]}"
            )
        seen_files[found.key] = line
        md5 = values.get(md5_column, "").lower() or None
        if md5 is not None and not _MD5.match(md5):
            raise ValidationError(f"{where}: {md5_column} is not 32 hex digits")
        files.append(SurveyedFile(found.name, found.url, found.size, md5))
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
        metadata={"run_id": run_id, "delivery": source.location},
    )


@handler("survey", "delivery")
def survey_delivery(ctx: JobContext) -> dict[str, Any]:
    """Catalog a delivery (folder or S3 prefix) and queue a download per FASTQ file."""
    location = ctx.job.payload.get("location")
    if not isinstance(location, str) or not location:
        raise ValidationError("survey payload needs 'location': the delivery folder")
    client = s3_client(ctx.env) if location.startswith("s3://") else None
    runs = read_delivery(open_delivery(location, s3_client=client))
    result = record_runs(ctx.conn, "delivery", runs, parent_job_id=ctx.job.id)
    ctx.log.info("surveyed delivery %s: %d runs", location, len(runs))
    return {"source": "delivery", "location": location, **result}
