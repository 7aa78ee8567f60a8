"""The `delivery` surveyor: a sequencing core's delivery with a sample sheet.

A delivery is a folder — on a shared drive, or an S3 prefix `s3://bucket/prefix/` in the
cloud (workers.surveyors.delivery_sources) — holding `samplesheet.csv` and FASTQ files (plain
or gzipped) anywhere below it; the same rules hold wherever it is. The sheet is a
comma-separated file with a header row; one row per sample and
sequencing run (lane). What a row holds is the `sample_sheet` import schema
(`workers/schemas/sample_sheet/v<N>.json`); version 1 is:

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

A sheet declares its version with a first line `# schema_version: 2`; a sheet without one is
assigned version 1, the version every sheet followed before versions were declared, so old
deliveries keep reading. An unknown version is refused.

The whole sheet is validated before anything is written, and every problem is reported at
once: a missing, unknown or repeated column, an empty or malformed field (from the schema), a
duplicate (sample_id, run_id), a sample whose individual or tissue differs between rows, a
FASTQ listed twice, missing, or outside the folder. They come as one SchemaValidationError
whose message names each of them on one line. Each row becomes one experiment
`<project>-<sample_id>-<run_id>`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ValidationError
from common.inputs import MAX_ID_LENGTH, MAX_PATH_LENGTH, MAX_TEXT_LENGTH, check_text
from common.lake.s3 import s3_client
from workers.registry import JobContext, handler
from workers.schemas import validation as schemas
from workers.schemas.validation import Problem, SchemaValidationError
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun, record_runs
from workers.surveyors.delivery_sources import (
    SAMPLE_SHEET,
    DeliveryFile,
    DeliverySource,
    FolderDelivery,
    open_delivery,
)

__all__ = ["SAMPLE_SHEET", "read_delivery", "read_sample_sheet", "survey_delivery"]

SHEET_KIND = "sample_sheet"
_MAX_LENGTHS = {
    **dict.fromkeys(("project", "sample_id", "individual", "run_id", "library"), MAX_ID_LENGTH),
    **dict.fromkeys(("read1", "read2"), MAX_PATH_LENGTH),
}
DEFAULT_SHEET_VERSION = 1  # sheets from before versions were declared
_DECLARATION = re.compile(r"^#\s*schema_version\s*[:=,]\s*(\S*?)[\s,]*$")


@dataclass
class _SheetState:
    """What later rows are checked against: runs, files and samples already seen."""

    source: DeliverySource
    version: int
    runs: set[tuple[str, str]] = field(default_factory=set)
    files: dict[str, int] = field(default_factory=dict)
    samples: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, line: int, column: str, message: str) -> None:
        self.problems.append(Problem(f"line {line}", column, message))


def sheet_schema_version(text: str) -> int:
    """The version a sheet declares on its first line, or the default one."""
    first = text.split("\n", 1)[0].strip()
    if not first.startswith("#"):
        return DEFAULT_SHEET_VERSION
    match = _DECLARATION.match(first)
    if not match:
        raise ValidationError(
            f"first line {first!r} is not a schema declaration ('# schema_version: N')"
        )
    return schemas.check_version(SHEET_KIND, match.group(1))


def read_sample_sheet(folder: str | Path) -> list[SurveyedRun]:
    """Validate the delivery folder `folder` and describe its runs (nothing is written)."""
    return read_delivery(FolderDelivery.open(folder))


def read_delivery(source: DeliverySource) -> list[SurveyedRun]:
    """Validate the delivery at `source` (folder or S3) and describe its runs."""
    sheet = source.sheet_name
    text = source.sheet_text()
    try:
        version = sheet_schema_version(text)
        declared = text.startswith("#")
        if declared:
            text = text.split("\n", 1)[1] if "\n" in text else ""
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = list(reader)
    except csv.Error as exc:
        raise ValidationError(f"{sheet}: not a readable CSV file ({exc})") from None
    except ValidationError as exc:
        raise ValidationError(f"{sheet}: {exc}") from None
    state = _SheetState(source, version)
    absent = _header_problems(state, header)
    if not rows:
        state.problems.append(Problem("", "", "no samples listed"))
    runs = []
    for line, row in enumerate(rows, start=3 if declared else 2):
        run = _run_from_row(state, line, row, absent)
        if run is not None:
            runs.append(run)
    if state.problems:
        raise SchemaValidationError(f"{sheet} (schema v{version})", state.problems)
    return runs


def _header_problems(state: _SheetState, header: list[str]) -> set[str]:
    """Report missing, unknown and repeated columns once; returns the columns to skip per row."""
    known = schemas.fields(SHEET_KIND, state.version)
    required = schemas.required_fields(SHEET_KIND, state.version)
    missing = [column for column in required if column not in header]
    for column in missing:
        state.problems.append(
            Problem("", column, f"missing column {column!r} (required: {', '.join(required)})")
        )
    unknown = sorted(set(header) - set(known))
    for column in unknown:
        state.problems.append(Problem("", column, f"unknown column {column!r}"))
    for column in sorted({name for name in header if header.count(name) > 1}):
        state.problems.append(Problem("", column, f"column {column!r} appears twice"))
    return {*missing, *unknown}


def _run_from_row(
    state: _SheetState, line: int, row: dict[str, Any], absent: set[str]
) -> SurveyedRun | None:
    """The row's run, or None after recording every problem the row has."""
    before = len(state.problems)
    if None in row:
        state.problem(line, "", "more fields than columns")
        row = {key: value for key, value in row.items() if key is not None}
    values = schemas.without_empty({k: v for k, v in row.items() if k not in absent})
    for column, value in list(values.items()):
        try:  # ASCII ids, paths and free text without NUL or control characters, bounded
            check_text(value, column, max_length=_MAX_LENGTHS.get(column, MAX_TEXT_LENGTH))
        except ValidationError as exc:
            state.problem(line, column, str(exc))
            del values[column]
    state.problems.extend(
        schemas.problems_in(SHEET_KIND, state.version, values, where=f"line {line}")
    )
    sample, run_id = values.get("sample_id", ""), values.get("run_id", "")
    if sample and run_id:
        if (sample, run_id) in state.runs:
            state.problem(line, "run_id", f"duplicate sample {sample} run {run_id}")
        state.runs.add((sample, run_id))
    identity = (values.get("individual", ""), values.get("tissue", ""), values.get("species", ""))
    if sample and all(identity) and state.samples.setdefault(sample, identity) != identity:
        state.problem(
            line,
            "individual",
            f"sample {sample} has a different individual, tissue or species than on an "
            "earlier line",
        )
    reads = [("read1", "read1_md5")]
    if values.get("read2"):
        reads.append(("read2", "read2_md5"))
    elif values.get("read2_md5"):
        state.problem(line, "read2_md5", "read2_md5 is set but read2 is empty")
    files = []
    for column, md5_column in reads:
        if column not in values:
            continue
        found = _locate(state, line, column, values[column])
        if found is None:
            continue
        if found.key in state.files:
            state.problem(
                line, column, f"{values[column]} is already listed on line {state.files[found.key]}"
            )
            continue
        state.files[found.key] = line
        md5 = values.get(md5_column, "").lower() or None
        files.append(SurveyedFile(found.name, found.url, found.size, md5))
    if len({file.name for file in files}) != len(files):
        state.problem(line, "read2", "read1 and read2 have the same file name")
    if len(state.problems) > before:
        return None
    extra = {
        name: values[name]
        for name in values
        if schemas.metadata_level(SHEET_KIND, state.version, name) == "sample"
    }
    return SurveyedRun(
        project=values["project"],
        individual=values["individual"],
        species=values["species"],
        sample=sample,
        tissue=values["tissue"],
        aliquot=values.get("library") or sample,
        experiment=f"{values['project']}-{sample}-{run_id}",
        files=tuple(files),
        sample_metadata=extra,
        library_layout="PAIRED" if len(files) == 2 else "SINGLE",
        platform=values.get("platform", "").upper(),
        metadata={"run_id": run_id, "delivery": state.source.location},
        schema=(SHEET_KIND, state.version),
        origin=state.source.location,
    )


def _locate(state: _SheetState, line: int, column: str, value: str) -> DeliveryFile | None:
    """The file a sheet cell names, or None after recording why it cannot be used."""
    where = f"line {line}"
    try:
        return state.source.locate(where, column, value)
    except ValidationError as exc:
        state.problem(line, column, str(exc).removeprefix(f"{where}: "))
        return None


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
