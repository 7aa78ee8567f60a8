"""Where a dataset's values come from: the runs asked for, the gene-level result holding each,
and the reason for every run that no result holds.

Each application that makes gene-level results declares here (`GENE_RESULTS`) the file it
writes, its technology and the scale of its values: `summarise` (RNA-seq) writes tximport's
lengthScaledTPM counts, linear, in `gene_counts.tsv`; `affy` (microarrays) writes RMA's log2
values in `gene_rma.tsv`. A run's values are its column in the newest such result of its
project that holds it (one per application and platform: a project's arrays of two chips are
two `affy` results). A run no result holds, a project with no result yet and a sample with no
run are each named with why — so every sample asked for ends up either in a matrix or in the
dataset's list of those left out.

Datasets and QN targets put every value on one scale, log2 (`ON_LOG2_SCALE`): a source on the
linear scale is transformed once, log2(x + 1) — refine.bio's transform for RNA-seq in its
compendia — and a source on the log2 scale already (RMA) is taken as it is. So a dataset that
mixes RNA-seq and microarray experiments joins comparable columns, and a QN target takes
samples of both technologies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.lake.layout import safe_component
from common.sql import query

ALL_GROUP = "ALL"
LINEAR, LOG2 = "linear", "log2"
ON_LOG2_SCALE = (
    "log2: RNA-seq lengthScaledTPM counts (tximport) as log2(x + 1), microarray RMA values "
    "(affy::rma, log2 already) as they are"
)


@dataclass(frozen=True)
class GeneResult:
    """Where an application leaves its samples' gene-level values, and what they are."""

    application: str
    file: str
    technology: str
    scale: str  # LINEAR or LOG2
    values: str


GENE_RESULTS = {
    result.application: result
    for result in (
        GeneResult("summarise", "gene_counts.tsv", "RNA-SEQ", LINEAR,
                   "lengthScaledTPM counts (tximport)"),
        GeneResult("affy", "gene_rma.tsv", "MICROARRAY", LOG2, "RMA (affy::rma), log2"),
    )
}  # fmt: skip


def datasets_sql(name: str) -> str:
    return query(__file__, "datasets.sql", name)


@dataclass
class Plan:
    """groups: group -> {result's analysis id: its runs in the group}; runs: run accession ->
    what the catalog says of it (with its `technology`); left_out: a run (or a sample
    without one) -> why; sources: analysis id -> what kind of result it is."""

    groups: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    species: dict[str, set[str]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    sources: dict[int, GeneResult] = field(default_factory=dict)

    def gene_matrices(self) -> dict[str, list[int]]:
        """project accession -> the analyses whose values the plan uses."""
        used: dict[str, set[int]] = {}
        for sources in self.groups.values():
            for analysis_id, runs in sources.items():
                for run in runs:
                    used.setdefault(self.runs[run]["project"], set()).add(analysis_id)
        return {project: sorted(ids) for project, ids in sorted(used.items())}


def catalog_runs(
    conn: Connection, project_ids: Iterable[int], sample_ids: Iterable[int]
) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            datasets_sql("runs"), {"project_ids": list(project_ids), "sample_ids": list(sample_ids)}
        )
        return [dict(row) for row in cur.fetchall()]


def newest_results(conn: Connection, project_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """project id -> its newest gene-level result per application and platform (analysis id,
    application, metadata), newest first."""
    results: dict[int, list[dict[str, Any]]] = {}
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            datasets_sql("newest_gene_results"),
            {"project_ids": sorted(set(project_ids)), "applications": sorted(GENE_RESULTS)},
        )
        for row in cur.fetchall():
            results.setdefault(int(row["project_id"]), []).append(dict(row))
    for rows in results.values():
        rows.sort(key=lambda row: -int(row["analysis_id"]))
    return results


def why_left_out(row: dict[str, Any], results: list[dict[str, Any]]) -> str:
    """Why no gene-level result of its project holds `row`'s run, said for its technology:
    `results` are the project's newest results (none: it has none yet)."""
    run, project, raw = row["run"], row["project"], row.get("array_raw")
    if raw == "table":
        return (
            "only its submitter's processed table (geo_table: values as submitted, on a scale "
            "not stated); datasets join values on one log2 scale"
        )
    if raw == "processed":
        return "only ArrayExpress's processed table, stored but not converted to genes"
    for result in results:
        reason = (result["metadata"].get("left_out") or {}).get(run)
        if reason:
            return f"left out of {project}'s gene matrix: {reason}"
    if raw is not None:
        return (
            f"in no RMA of {project}'s arrays yet (the affy job of a platform runs once every "
            "CEL file of it is stored)"
        )
    if not results:
        return (
            f"experiment {project} has no gene matrix yet "
            f"(inv analyses.summarise --experiment {project})"
        )
    return (
        f"not in {project}'s newest gene matrix (not quantified when it was made; "
        "inv analyses.summarise makes a new one)"
    )


def group_of(row: dict[str, Any], aggregate: str) -> str:
    if aggregate == "experiment":
        return safe_component(row["project"])
    if aggregate == "species":
        return safe_component(row["species"] or "unknown_species")
    return ALL_GROUP


def plan_columns(rows: list[dict[str, Any]], aggregate: str, conn: Connection) -> Plan:
    """Which run goes into which group from which matrix, and why the others do not."""
    plan = Plan()
    results = newest_results(conn, (row["project_id"] for row in rows))
    for row in rows:
        run = row["run"]
        if run is None:
            plan.left_out[f"sample {row['sample']} (id {row['sample_id']})"] = (
                "no sequencing run of this sample in the catalog"
            )
            continue
        plan.runs[run] = row
        candidates = results.get(int(row["project_id"]), [])
        holding = [r for r in candidates if run in (r["metadata"].get("samples") or {})]
        if not holding:
            plan.left_out[run] = why_left_out(row, candidates)
            continue
        analysis_id = int(holding[0]["analysis_id"])
        source = GENE_RESULTS[holding[0]["application"]]
        plan.sources[analysis_id] = source
        row["technology"] = source.technology
        group = group_of(row, aggregate)
        plan.groups.setdefault(group, {}).setdefault(analysis_id, []).append(run)
        plan.species.setdefault(group, set()).add(row["species"])
    return plan


def organism_plan(conn: Connection, organism: str) -> Plan:
    """Every processed run of `organism`, as one group named after it."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("projects_of_organism"), {"organism": organism})
        project_ids = [int(row["id"]) for row in cur.fetchall()]
    rows = [
        row
        for row in catalog_runs(conn, project_ids, [])
        if row["species"].lower() == organism.lower()
    ]
    return plan_columns(rows, "species", conn)


def processed_runs(plan: Plan) -> int:
    return sum(len(runs) for group in plan.groups.values() for runs in group.values())
