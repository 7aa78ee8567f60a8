"""Asking for data out: check a request, record it, queue the `dataset` job that builds it.

Both `inv datasets.*` and the console's `POST /api/datasets` come here, so a request is
checked the same way wherever it is made, before anything is written: a request that can
only fail (an unknown experiment or sample, a scaling that does not exist, quantile
normalisation for an organism with no target yet) is one `ValidationError` and leaves no row
and no job. A search is run by the caller (the console owns search) and arrives here as the
sample ids it found, with its text kept in the request for the record.

"Experiment" means here what `inv analyses.summarise --experiment` means: a project (a study
with its samples), named by its accession, whose newest gene matrix holds its samples'
gene-level values. A dataset's columns are the sequencing runs (the catalog's experiments)
of the samples asked for, named by their accessions as in that gene matrix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, RealDictCursor

from common.db import fetch_one
from common.errors import ValidationError
from common.inputs import MAX_ID_LENGTH, check_text, excerpt, parse_int
from foreman.jobs import enqueue_job
from workers.datasets.sources import catalog_runs, datasets_sql, organism_plan, processed_runs

AGGREGATIONS = ("experiment", "species", "all")
SCALINGS = ("none", "minmax", "standard", "robust")
MAX_ITEMS = 10_000  # experiments or samples in one request


@dataclass(frozen=True)
class DatasetRequest:
    """What a person asked for; exactly one of experiments, samples and search."""

    experiments: list[str] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    search: str = ""
    aggregate: str = "experiment"
    scale: str = "none"
    quantile_normalize: bool = False
    include_raw: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Queued:
    dataset_id: int
    job_id: int


def dataset_request(
    *,
    experiments: list[str] | None = None,
    samples: list[object] | None = None,
    search: str | None = None,
    found_samples: list[int] | None = None,
    aggregate: str = "experiment",
    scale: str = "none",
    quantile_normalize: bool = False,
    include_raw: bool = False,
) -> DatasetRequest:
    """A checked request from what a person typed (`found_samples`: what `search` found)."""
    chosen = [
        name
        for name, value in (
            ("--experiments", experiments),
            ("--samples", samples),
            ("--search", search),
        )
        if value
    ]
    if len(chosen) != 1:
        raise ValidationError(
            "name what to download with one of --experiments, --samples or --search"
            + (f" (not {' and '.join(chosen)})" if chosen else "")
        )
    aggregate = str(aggregate or "").strip().lower()
    if aggregate not in AGGREGATIONS:
        raise ValidationError(
            f"--aggregate is one of {', '.join(AGGREGATIONS)}, not {excerpt(aggregate)}"
        )
    scale = str(scale or "").strip().lower()
    if scale not in SCALINGS:
        raise ValidationError(f"--scale is one of {', '.join(SCALINGS)}, not {excerpt(scale)}")
    accessions = _accessions(experiments or [])
    sample_ids = sorted(
        {
            parse_int(value, "--samples (a sample id)", minimum=1, maximum=2**63 - 1)
            for value in samples or []
        }
    )
    text = check_text(search or "", "--search", max_length=200).strip()
    if search and not found_samples:
        raise ValidationError(f"the search {excerpt(text)} found no sample")
    if text:
        sample_ids = sorted(set(found_samples or []))
    if len(accessions) > MAX_ITEMS or len(sample_ids) > MAX_ITEMS:
        raise ValidationError(f"a dataset holds at most {MAX_ITEMS:,} experiments or samples")
    return DatasetRequest(
        accessions, sample_ids, text, aggregate, scale, bool(quantile_normalize), bool(include_raw)
    )


def _accessions(values: list[str]) -> list[str]:
    accessions: set[str] = set()
    for value in values:
        for part in str(value).split(","):
            accession = check_text(part, "--experiments", max_length=MAX_ID_LENGTH).strip()
            if accession:
                accessions.add(accession)
    return sorted(accessions)


def queue_dataset(conn: Connection, request: DatasetRequest, requested_by: str) -> Queued:
    """Check `request` against the catalog, record it and queue its job (the caller commits)."""
    project_ids = project_ids_of(conn, request.experiments)
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        if request.samples:
            cur.execute(datasets_sql("existing_samples"), {"ids": request.samples})
            unknown = sorted(set(request.samples) - {row["id"] for row in cur.fetchall()})
            if unknown:
                raise ValidationError(
                    f"unknown sample id(s) {', '.join(map(str, unknown[:5]))}: see the catalog"
                )
    organisms = sorted({row["species"] for row in catalog_runs(conn, project_ids, request.samples)})
    target_id = None
    if request.quantile_normalize:
        if request.aggregate == "all" and len(organisms) > 1:
            raise ValidationError(
                f"cannot quantile-normalise {len(organisms)} organisms together "
                f"({', '.join(organisms)}): aggregate by species or experiment"
            )
        targets = newest_targets(conn, organisms)
        missing = [organism for organism in organisms if organism.lower() not in targets]
        if missing:
            raise ValidationError(
                f"no quantile-normalisation target for {missing[0]} yet: "
                f"run inv datasets.qn-target --organism '{missing[0]}' first"
            )
        target_id = targets[organisms[0].lower()]["id"] if len(organisms) == 1 else None
    return _record(
        conn, "dataset", "", request.as_json(), requested_by, target_id, {"build": "matrices"}
    )


def queue_organism_build(
    conn: Connection, build: str, organism: str, requested_by: str, min_samples: int
) -> Queued:
    """Queue an organism's QN target (`qn_target`) or compendium (`compendium`) once it has
    enough processed samples (`min_samples`, the `[datasets]` setting, for a target)."""
    organism = check_text(organism, "--organism", max_length=200, required=True).strip()
    processed = processed_runs(organism_plan(conn, organism))
    if not processed:
        raise ValidationError(
            f"no processed sample of {excerpt(organism)} in the catalog (is the name right? "
            "its projects need a gene matrix: inv analyses.summarise)"
        )
    least = min_samples if build == "qn_target" else 1
    if processed < least:
        raise ValidationError(
            f"{organism} has {processed} processed samples; a QN target needs at least "
            f"{least} ([datasets] qn_target_min_samples)"
        )
    return _record(
        conn,
        "compendium" if build == "compendium" else "dataset",
        organism,
        {"organism": organism, "build": build},
        requested_by,
        None,
        {"build": build, "organism": organism},
    )


def _record(
    conn: Connection,
    kind: str,
    organism: str,
    request: dict[str, Any],
    requested_by: str,
    target_id: int | None,
    payload: dict[str, Any],
) -> Queued:
    if payload["build"] == "qn_target":
        job_id, _ = enqueue_job(conn, "dataset", {**payload, "requested_by": requested_by})
        return Queued(0, job_id)
    with conn.cursor() as cur:
        cur.execute(
            datasets_sql("insert_dataset"),
            {
                "kind": kind,
                "organism": organism,
                "request": Json(request),
                "requested_by": requested_by,
                "qn_target_id": target_id,
            },
        )
        dataset_id = int(fetch_one(cur)[0])
        job_id, _ = enqueue_job(conn, "dataset", {**payload, "dataset_id": dataset_id})
        cur.execute(datasets_sql("set_dataset_job"), {"job_id": job_id, "dataset_id": dataset_id})
    return Queued(dataset_id, job_id)


def project_ids_of(conn: Connection, accessions: list[str]) -> list[int]:
    if not accessions:
        return []
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("projects_by_accession"), {"accessions": accessions})
        rows = cur.fetchall()
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row["accession"], []).append(int(row["id"]))
    unknown = [accession for accession in accessions if accession not in found]
    if unknown:
        raise ValidationError(
            f"unknown experiment {excerpt(unknown[0])}: no project has it as "
            "its accession (see inv projects.list)"
        )
    doubled = [accession for accession, ids in found.items() if len(ids) > 1]
    if doubled:
        raise ValidationError(f"{excerpt(doubled[0])} names projects of several sources")
    return sorted(ids[0] for ids in found.values())


def newest_targets(conn: Connection, organisms: list[str]) -> dict[str, dict[str, Any]]:
    """lower-cased organism -> its newest QN target row."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            datasets_sql("newest_targets"),
            {"organisms": [organism.lower() for organism in organisms]},
        )
        return {row["organism"]: dict(row) for row in cur.fetchall()}
