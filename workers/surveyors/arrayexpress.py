"""The `arrayexpress` surveyor: an ArrayExpress experiment (`E-MTAB-…`, `E-GEOD-…`) through the
BioStudies API, its Affymetrix arrays catalogued for RMA.

BioStudies describes an experiment in its study JSON (`<base_url>/api/v1/studies/<accession>`):
the `section`'s attributes (`Title`, `Description`, `Organism`, `Study type`) and, under its
`Assays and Data` subsection, one subsection per kind of file — `Raw Data`, `Processed Data`,
`MAGE-TAB Files` (each listing `files` by `path`) and `Array Designs` (whose `links` name
ArrayExpress's array designs, `A-AFFY-44`, with a description that ends in the chip's name in
brackets). Files are served at `<base_url>/files/<accession>/<path>`. Which file belongs to
which sample is in the MAGE-TAB sample table (`<accession>.sdrf.txt`, listed among the
`MAGE-TAB Files`): one row per assay with its `Source Name`, `Characteristics[organism]`,
`Array Design REF`, `Array Data File` (the raw file) and `Derived Array Data File` (the
submitter's processed table).

Each assay is one experiment under the study (project `E-…`; individual and sample its source,
aliquot and experiment `<accession>-<assay>`), its `platform` the array design. An assay whose
raw file is a CEL file the study lists is catalogued with it (`metadata.array.raw` = `CEL`), so
the download handler queues the `affy` application once the last CEL file of the study on that
design is stored (`workers.processors.affy`). An assay with no CEL file but a processed table
is catalogued with the table (`raw` = `processed`): downloaded and kept, not converted (its
layout is the submitter's own). Every other assay is named in the job's result and in the
project's metadata with the reason: a design that is not Affymetrix (ArrayExpress names
Affymetrix designs `A-AFFY-…`, or the design's description names the maker), an assay that
names no design, a raw file the study does not list (only inside a zip archive, for instance).

A 404 means BioStudies has no such study: refused before anything is queued when
`inv jobs.survey` asks (`resolve_study`); other failures are asked again with backoff.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from common import catalog
from common.errors import JobError, ValidationError
from common.inputs import excerpt
from common.settings.jobs import ArrayExpressSettings
from workers.registry import JobContext, handler
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun, record_runs
from workers.surveyors.geo_arrays import CEL_SUFFIXES
from workers.surveyors.patient_http import Patience, UnusableAnswer, get_patiently

log = logging.getLogger(__name__)

SOURCE = "arrayexpress"
_ACCESSION = re.compile(r"E-[A-Z]{4}-[0-9]{1,9}", re.ASCII)
_DESIGN = re.compile(r"A-[A-Z]{4}-[0-9]{1,9}", re.ASCII)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+", re.ASCII)
_CHIP = re.compile(r"\[([^\]]+)\]\s*$")  # "Affymetrix GeneChip … [HG-U133_Plus_2]"


class UnknownStudy(ValidationError):
    """BioStudies has no such study."""


@dataclass(frozen=True)
class Study:
    """What the study JSON says of an experiment."""

    accession: str
    title: str
    description: str
    organism: str
    study_type: str
    designs: dict[str, str]  # A-… -> its description
    files: dict[str, str]  # path -> kind ("Raw Data", "Processed Data", "MAGE-TAB Files")

    @property
    def sample_table(self) -> str | None:
        tables = [p for p, kind in self.files.items() if p.lower().endswith(".sdrf.txt")]
        return tables[0] if tables else None


@dataclass(frozen=True)
class Assay:
    """One row of the sample table."""

    name: str
    source: str
    organism: str
    design: str
    raw_file: str
    processed_file: str
    characteristics: dict[str, str] = field(default_factory=dict)


def looks_like_experiment(value: str) -> bool:
    """Whether `value` is meant as an ArrayExpress experiment (starts with E-)."""
    return (value or "").strip().upper().startswith("E-")


def validate_experiment_accession(value: str) -> str:
    """`E-XXXX-` and ASCII digits, upper-cased; a ValidationError before any request."""
    accession = (value or "").strip().upper()
    if not _ACCESSION.fullmatch(accession):
        raise ValidationError(
            f"{excerpt(value or '')} is not an ArrayExpress experiment accession "
            "(E-MTAB-1234, E-GEOD-1234: E-, four letters, -, ASCII digits)"
        )
    return accession


def study_url(base_url: str, accession: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/studies/{accession}"


def file_url(base_url: str, accession: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/files/{accession}/{quote(path)}"


def _attributes(node: dict[str, Any]) -> dict[str, str]:
    return {
        str(a.get("name", "")): str(a.get("value", ""))
        for a in node.get("attributes") or []
        if isinstance(a, dict)
    }


def _flat(items: Any) -> list[dict[str, Any]]:
    """BioStudies lists files and links either flat or as lists of lists (tables)."""
    found: list[dict[str, Any]] = []
    for item in items or []:
        if isinstance(item, list):
            found.extend(_flat(item))
        elif isinstance(item, dict):
            found.append(item)
    return found


def _subsections(node: dict[str, Any]) -> list[dict[str, Any]]:
    return _flat(node.get("subsections"))


def parse_study(document: Any, accession: str) -> Study:
    """The study as BioStudies' JSON describes it; a JobError when it is not one."""
    section = document.get("section") if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise JobError(f"BioStudies' answer for {accession} holds no study section")
    attributes = {**_attributes(document), **_attributes(section)}
    designs: dict[str, str] = {}
    files: dict[str, str] = {}
    for part in _subsections(section):
        if part.get("type") != "Assays and Data":
            continue
        for kind in _subsections(part):
            if kind.get("type") == "Array Designs":
                for link in _flat(kind.get("links")):
                    url = str(link.get("url", "")).strip()
                    if _DESIGN.fullmatch(url):
                        link_attributes = _attributes(link)
                        designs[url] = link_attributes.get("Description", "")
            for entry in _flat(kind.get("files")):
                if entry.get("path"):
                    files[str(entry["path"])] = str(kind.get("type", ""))
    return Study(
        accession=accession,
        title=attributes.get("Title", ""),
        description=attributes.get("Description", ""),
        organism=attributes.get("Organism", ""),
        study_type=attributes.get("Study type", ""),
        designs=designs,
        files=files,
    )


def _patience(settings: ArrayExpressSettings) -> Patience:
    return Patience(settings.retries, settings.backoff_seconds, settings.timeout_seconds)


def resolve_study(settings: ArrayExpressSettings, accession: str) -> Study:
    """The study as BioStudies describes it now; UnknownStudy on a 404."""

    def missing() -> UnknownStudy:
        return UnknownStudy(f"BioStudies has no {accession} (HTTP 404); check the accession")

    def read(response: requests.Response) -> Study:
        try:
            document = response.json()
        except ValueError:
            raise UnusableAnswer(f"BioStudies' answer for {accession} is not JSON") from None
        return parse_study(document, accession)

    return get_patiently(
        study_url(settings.base_url, accession), _patience(settings), service="BioStudies",
        accession=accession, missing=missing, read=read,
        gave_up=f"BioStudies' study JSON for {accession}",
    )  # fmt: skip


def _column(row: dict[str, str], *names: str) -> str:
    for name in names:
        for key, value in row.items():
            if key and key.replace(" ", "").lower() == name.replace(" ", "").lower() and value:
                return value.strip()
    return ""


def parse_sample_table(text: str) -> list[Assay]:
    """The sample table's rows as assays (the first of each repeated column counts)."""
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader, [])
    assays = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        row: dict[str, str] = {}
        for key, value in zip(header, values, strict=False):
            row.setdefault(key.strip(), value)
        characteristics = {
            key[len("Characteristics[") : -1].strip(): value.strip()
            for key, value in row.items()
            if key.startswith("Characteristics[") and key.endswith("]") and value.strip()
        }
        source = _column(row, "Source Name")
        assays.append(
            Assay(
                name=_column(row, "Assay Name", "Hybridization Name") or source,
                source=source,
                organism=characteristics.get("organism", ""),
                design=_column(row, "Array Design REF"),
                raw_file=_column(row, "Array Data File"),
                processed_file=_column(row, "Derived Array Data File"),
                characteristics=characteristics,
            )
        )
    return assays


def is_affymetrix_design(design: str, description: str) -> bool:
    """ArrayExpress names Affymetrix designs A-AFFY-…; an imported one says so in its
    description."""
    return design.startswith("A-AFFY-") or "affymetrix" in description.lower()


def assay_run(
    study: Study, assay: Assay, settings: ArrayExpressSettings
) -> tuple[SurveyedRun | None, str]:
    """The assay as an experiment with its CEL file (or processed table), or the reason it is
    not catalogued."""
    if not assay.design:
        return None, "the sample table names no array design for it"
    description = study.designs.get(assay.design, "")
    if not is_affymetrix_design(assay.design, description):
        what = f" ({description})" if description else ""
        return None, (
            f"its platform {assay.design}{what} is not known to be an Affymetrix array; "
            "only Affymetrix arrays are processed"
        )
    array: dict[str, Any] = {
        "platform": assay.design,
        "manufacturer": "Affymetrix",
        "title": description,
        "chip": chip.group(1).strip() if (chip := _CHIP.search(description)) else "",
    }
    if assay.raw_file.lower().endswith(CEL_SUFFIXES) and assay.raw_file in study.files:
        name, array["raw"] = assay.raw_file, "CEL"
    elif assay.processed_file and assay.processed_file in study.files:
        name, array["raw"] = assay.processed_file, "processed"
    elif assay.raw_file:
        return None, (
            f"its raw file {assay.raw_file} is not among the study's files (only inside an "
            "archive?) and it has no processed table the study lists"
        )
    else:
        return None, "the sample table names neither a raw file nor a processed table"
    experiment = f"{study.accession}-{_UNSAFE.sub('_', assay.name)}"
    return SurveyedRun(
        project=study.accession,
        project_title=study.title,
        individual=assay.source or assay.name,
        sample=assay.source or assay.name,
        aliquot=experiment,
        experiment=experiment,
        files=(SurveyedFile(name=name, source_url=file_url(settings.base_url, study.accession,
                                                              name)),),
        species=assay.organism or study.organism,
        tissue=assay.characteristics.get("organism part", ""),
        sample_metadata={"arrayexpress": {"assay": assay.name,
                                          "characteristics": assay.characteristics}},
        platform=assay.design,
        metadata={"array": array},
    ), ""  # fmt: skip


def study_assays(settings: ArrayExpressSettings, study: Study) -> list[Assay]:
    """The assays of the study's MAGE-TAB sample table."""
    table = study.sample_table
    if table is None:
        raise JobError(f"{study.accession} lists no MAGE-TAB sample table (.sdrf.txt)")

    def missing() -> JobError:
        return JobError(f"BioStudies has no {table} for {study.accession} (HTTP 404)")

    return get_patiently(
        file_url(settings.base_url, study.accession, table), _patience(settings),
        service="BioStudies", accession=study.accession, missing=missing,
        read=lambda response: parse_sample_table(response.text),
        gave_up=f"BioStudies' {table}",
    )  # fmt: skip


@handler("survey", SOURCE)
def survey_arrayexpress(ctx: JobContext) -> dict[str, Any]:
    """Catalog an ArrayExpress experiment's Affymetrix arrays and queue a download per file;
    every assay not catalogued is recorded with its reason."""
    accession = validate_experiment_accession(str(ctx.job.payload.get("accession", "")))
    settings = ctx.env.settings("arrayexpress", ArrayExpressSettings)
    study = resolve_study(settings, accession)
    runs: list[SurveyedRun] = []
    arrays: list[str] = []
    not_catalogued: dict[str, str] = {}
    for assay in study_assays(settings, study):
        run, reason = assay_run(study, assay, settings)
        if run is None:
            not_catalogued[assay.name] = reason
        else:
            runs.append(run)
            arrays.append(run.experiment)
    project_id, _ = catalog.upsert_project(ctx.conn, SOURCE, accession, title=study.title)
    catalog.describe_project(
        ctx.conn, project_id, summary=study.description,
        metadata={"study_type": study.study_type, "platforms": study.designs,
                  "not_catalogued": not_catalogued},
    )  # fmt: skip
    result = record_runs(ctx.conn, SOURCE, runs, parent_job_id=ctx.job.id)
    for name, reason in not_catalogued.items():
        ctx.log.warning("%s: assay %s not catalogued: %s", accession, name, reason,
                        extra={"accession": accession})  # fmt: skip
    return {
        "source": SOURCE,
        "accession": accession,
        "platforms": study.designs,
        "arrays": arrays,
        "not_catalogued": not_catalogued,
        **result,
    }
