"""The `geo` surveyor: a GEO series (GSE…) resolved to its samples and their SRA runs.

GEO describes a series in its SOFT family file, `<base>/series/GSE1nnn/GSE1234/soft/
GSE1234_family.soft.gz` (the last three digits of the number replaced by `nnn`): a `^SERIES`
block (`!Series_title`, `!Series_summary`, `!Series_sample_id` per sample…) then one
`^SAMPLE` block per sample (`!Sample_title`, `!Sample_organism_ch1`, one
`!Sample_characteristics_ch1 = key: value` per characteristic, and `!Sample_relation = SRA:
…?term=SRX…` naming its SRA experiment). The file is plain text, read here line by line.

Each SRA experiment's runs and FASTQ files come from ENA's file report, as for any archive
accession (workers/surveyors/ena.py); the runs are catalogued under the series (project
`GSE…`, sample `GSM…`, aliquot `SRX…`, experiment `SRR…`), the series' title, summary and
descriptive fields on the project and each sample's GEO fields in its metadata. A sample with
no SRA experiment that is an Affymetrix array with a raw CEL file is catalogued as an array
(`workers.surveyors.geo_arrays`), with its CEL file to download. Any other sample without an
SRA experiment, and an experiment ENA does not know (yet), are named in the job's result, not
catalogued; a survey run again later picks the latter up.

A 404 means GEO has no such series: refused, before anything is queued when `inv jobs.survey`
asks (`resolve_series`). An answer that is not a whole gzip file, or a SOFT file that lists a
sample it does not describe, was cut off: asked again (each retry logged at INFO, so the one
line `inv` prints on giving up stays the only one).
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

from common import catalog
from common.errors import ValidationError
from common.inputs import excerpt, is_digits
from common.settings.jobs import EnaSettings, GeoSettings
from workers.registry import JobContext, handler
from workers.surveyors.catalog_writer import SurveyedRun, record_runs
from workers.surveyors.ena import UnknownAccession, fetch_file_report, runs_from_report
from workers.surveyors.geo_arrays import array_run
from workers.surveyors.patient_http import Patience, UnusableAnswer, get_patiently

log = logging.getLogger(__name__)

_SERIES = re.compile(r"GSE[0-9]{1,9}")
_SRA_EXPERIMENT = re.compile(r"\b([SED]RX[0-9]{4,12})\b")
SOURCE = "geo"
PLATFORM_FIELDS = ("title", "manufacturer", "technology")


class MalformedSoft(UnusableAnswer):
    """GEO's answer is not a whole SOFT family file: ask again."""


class UnknownSeries(ValidationError):
    """GEO has no such series, or it lists no samples."""


@dataclass(frozen=True)
class GeoSample:
    """One `^SAMPLE` block."""

    accession: str
    title: str
    organism: str
    source_name: str
    characteristics: dict[str, str]
    library_strategy: str
    sra_experiments: tuple[str, ...]
    platform_id: str = ""
    supplementary_files: tuple[str, ...] = ()
    table_rows: int = 0  # `!Sample_data_row_count`: the rows of the submitter's own table

    def metadata(self) -> dict[str, Any]:
        """The sample's GEO fields, as its catalog metadata keeps them."""
        fields = {
            "geo_accession": self.accession,
            "title": self.title,
            "source_name": self.source_name,
            "characteristics": self.characteristics,
            "library_strategy": self.library_strategy,
        }
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True)
class GeoSeries:
    """A series and its samples, in the order the series lists them."""

    accession: str
    title: str
    summary: str
    overall_design: str
    types: tuple[str, ...]
    platforms: tuple[str, ...]
    pubmed_ids: tuple[str, ...]
    samples: tuple[GeoSample, ...]
    # GPL… -> the platform's `!Platform_title`, `_manufacturer` and `_technology`
    platform_fields: dict[str, dict[str, str]] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The series' descriptive fields beyond title and summary."""
        fields: dict[str, Any] = {
            "overall_design": self.overall_design,
            "types": list(self.types),
            "platforms": list(self.platforms),
            "pubmed_ids": list(self.pubmed_ids),
        }
        return {key: value for key, value in fields.items() if value}


def validate_series_accession(value: str) -> str:
    """`GSE` and ASCII digits, upper-cased; a ValidationError before any request otherwise."""
    accession = (value or "").strip().upper()
    if not (accession.isascii() and _SERIES.fullmatch(accession)):
        raise ValidationError(
            f"{excerpt(value or '')} is not a GEO series accession (GSE and ASCII digits)"
        )
    return accession


def looks_like_series(value: str) -> bool:
    """Whether `value` is meant as a GEO series (starts with GSE), well-formed or not."""
    return (value or "").strip().upper().startswith("GSE")


def family_soft_url(base_url: str, accession: str) -> str:
    """Where GEO keeps the series' SOFT family file."""
    stub = "GSE" + accession[3:-3] + "nnn"
    return f"{base_url.rstrip('/')}/series/{stub}/{accession}/soft/{accession}_family.soft.gz"


def parse_family_soft(text: str, accession: str) -> GeoSeries:
    """The series and its samples from a SOFT family file's text."""
    entities: list[tuple[str, str, dict[str, list[str]]]] = []
    in_table = False
    for line in text.splitlines():
        if in_table:
            in_table = not line.lower().endswith("_table_end")
            continue
        if line.startswith("^"):
            kind, _, ident = line[1:].partition("=")
            entities.append((kind.strip().upper(), ident.strip(), {}))
        elif line.startswith("!") and entities:
            if line.lower().endswith("_table_begin"):
                in_table = True
                continue
            key, _, value = line[1:].partition("=")
            entities[-1][2].setdefault(key.strip(), []).append(value.strip())
    series = [fields for kind, ident, fields in entities if kind == "SERIES" and ident == accession]
    if not series:
        raise MalformedSoft(f"GEO's SOFT file for {accession} has no ^SERIES = {accession} block")
    fields = series[0]
    samples = {ident: f for kind, ident, f in entities if kind == "SAMPLE"}
    sample_ids = fields.get("Series_sample_id", [])
    if not sample_ids:
        raise UnknownSeries(f"GEO series {accession} lists no samples; nothing to survey")
    missing = [sample for sample in sample_ids if sample not in samples]
    if missing:
        raise MalformedSoft(
            f"GEO's SOFT file for {accession} lists {missing[0]} but does not describe it "
            f"({len(missing)} of {len(sample_ids)} samples missing: cut off?)"
        )
    return GeoSeries(
        accession=accession,
        title=_first(fields, "Series_title"),
        summary="\n".join(fields.get("Series_summary", [])).strip(),
        overall_design="\n".join(fields.get("Series_overall_design", [])).strip(),
        types=tuple(fields.get("Series_type", [])),
        platforms=tuple(fields.get("Series_platform_id", [])),
        pubmed_ids=tuple(fields.get("Series_pubmed_id", [])),
        samples=tuple(_sample(sample, samples[sample]) for sample in sample_ids),
        platform_fields={
            ident: {key: _first(f, f"Platform_{key}") for key in PLATFORM_FIELDS}
            for kind, ident, f in entities
            if kind == "PLATFORM"
        },
    )


def _first(fields: dict[str, list[str]], key: str) -> str:
    return (fields.get(key) or [""])[0]


def _sample(accession: str, fields: dict[str, list[str]]) -> GeoSample:
    characteristics: dict[str, str] = {}
    for text in fields.get("Sample_characteristics_ch1", []):
        key, colon, value = text.partition(":")
        key, value = (key.strip(), value.strip()) if colon else ("characteristic", text)
        characteristics[key] = (
            f"{characteristics[key]}; {value}" if key in characteristics else value
        )
    experiments = [
        match.group(1)
        for relation in fields.get("Sample_relation", [])
        if relation.upper().startswith("SRA:")
        for match in [_SRA_EXPERIMENT.search(relation)]
        if match
    ]
    return GeoSample(
        accession=accession,
        title=_first(fields, "Sample_title"),
        organism=_first(fields, "Sample_organism_ch1"),
        source_name=_first(fields, "Sample_source_name_ch1"),
        characteristics=characteristics,
        library_strategy=_first(fields, "Sample_library_strategy"),
        sra_experiments=tuple(dict.fromkeys(experiments)),
        platform_id=_first(fields, "Sample_platform_id"),
        table_rows=int(rows) if is_digits(rows := _first(fields, "Sample_data_row_count")) else 0,
        supplementary_files=tuple(
            url
            for key, urls in fields.items()
            if key.startswith("Sample_supplementary_file")
            for url in urls
            if url and url.upper() != "NONE"
        ),
    )


def resolve_series(settings: GeoSettings, accession: str) -> GeoSeries:
    """The series as GEO describes it now, asking again with backoff when the answer is
    unusable; UnknownSeries at once when GEO has no such series (a 404)."""

    def missing() -> UnknownSeries:
        return UnknownSeries(f"GEO has no series {accession} (HTTP 404); check the accession")

    return get_patiently(
        family_soft_url(settings.base_url, accession),
        Patience(settings.retries, settings.backoff_seconds, settings.timeout_seconds),
        service="GEO",
        accession=accession,
        missing=missing,
        read=lambda response: parse_family_soft(_gunzip(response.content, accession), accession),
        gave_up=f"GEO's SOFT file for {accession}",
    )


def _gunzip(content: bytes, accession: str) -> str:
    try:
        return gzip.decompress(content).decode("utf-8", "replace")
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedSoft(
            f"GEO's SOFT file for {accession} is not a whole gzip file ({type(exc).__name__})"
        ) from exc


def series_runs(series: GeoSeries, sample: GeoSample, runs: list[SurveyedRun]) -> list[SurveyedRun]:
    """ENA's runs of one GEO sample, catalogued under the series and the sample."""
    characteristics = sample.characteristics
    return [
        replace(
            run,
            project=series.accession,
            project_title=series.title,
            individual=sample.accession,
            sample=sample.accession,
            species=sample.organism or run.species,
            tissue=characteristics.get("tissue", run.tissue),
            sample_metadata={**run.sample_metadata, "geo": sample.metadata()},
        )
        for run in runs
    ]


@handler("survey", SOURCE)
def survey_geo(ctx: JobContext) -> dict[str, Any]:
    """Catalog a GEO series' samples — their SRA runs, or their raw files of Affymetrix arrays
    (`workers.surveyors.geo_arrays`) — and queue a download per file."""
    accession = validate_series_accession(str(ctx.job.payload.get("accession", "")))
    settings = GeoSettings.for_environment(ctx.env)
    series = resolve_series(settings, accession)
    ena = EnaSettings.for_environment(ctx.env)
    runs: list[SurveyedRun] = []
    arrays: list[str] = []
    without_sra: list[str] = []
    without_fastq: list[str] = []
    unknown_to_ena: list[str] = []
    for sample in series.samples:
        array = None if sample.sra_experiments else array_run(series, sample, settings)
        if array is not None:
            runs.append(array)
            arrays.append(sample.accession)
        elif not sample.sra_experiments:
            without_sra.append(sample.accession)
        for experiment in sample.sra_experiments:
            try:
                rows = fetch_file_report(ena, experiment)
            except UnknownAccession:
                unknown_to_ena.append(experiment)
                continue
            found, no_fastq = runs_from_report(
                rows, experiment, scheme=ena.archive_scheme, mirror=ena.archive_mirror_url
            )
            runs.extend(series_runs(series, sample, found))
            without_fastq.extend(no_fastq)
    project_id, _ = catalog.upsert_project(ctx.conn, SOURCE, accession, title=series.title)
    catalog.describe_project(
        ctx.conn, project_id, summary=series.summary, metadata=series.metadata()
    )
    result = record_runs(ctx.conn, SOURCE, runs, parent_job_id=ctx.job.id)
    ctx.log.info("surveyed GEO %s: %d samples, %d runs", accession, len(series.samples), len(runs))
    return {
        "source": SOURCE,
        "accession": accession,
        "samples": len(series.samples),
        "arrays": arrays,
        "samples_without_sra": without_sra,
        "experiments_unknown_to_ena": unknown_to_ena,
        "runs_without_fastq": without_fastq,
        **result,
    }
