"""Where a dataset's values come from: the runs asked for, the gene matrix holding each, and
the reason for every run that no matrix holds.

A run's values are its column in its project's newest gene matrix (`gene_counts.tsv` of the
newest `summarise` analysis: tximport's lengthScaledTPM counts). A run that matrix lacks, a
project with no matrix yet and a sample with no run are each named with why — so every
sample asked for ends up either in a matrix or in the dataset's list of those left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.lake.layout import safe_component
from common.sql import query

MATRIX_FILE = "gene_counts.tsv"
ALL_GROUP = "ALL"


def datasets_sql(name: str) -> str:
    return query(__file__, "datasets.sql", name)


@dataclass
class Plan:
    """groups: group -> {summary analysis id: its runs in the group}; runs: run accession ->
    what the catalog says of it; left_out: a run (or a sample without one) -> why."""

    groups: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    species: dict[str, set[str]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    summaries: dict[int, int] = field(default_factory=dict)  # project id -> analysis id


def catalog_runs(
    conn: Connection, project_ids: Iterable[int], sample_ids: Iterable[int]
) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            datasets_sql("runs"), {"project_ids": list(project_ids), "sample_ids": list(sample_ids)}
        )
        return [dict(row) for row in cur.fetchall()]


def newest_summaries(conn: Connection, project_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """project id -> its newest gene matrix's analysis id and metadata."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("newest_summaries"), {"project_ids": sorted(set(project_ids))})
        return {int(row["project_id"]): dict(row) for row in cur.fetchall()}


def group_of(row: dict[str, Any], aggregate: str) -> str:
    if aggregate == "experiment":
        return safe_component(row["project"])
    if aggregate == "species":
        return safe_component(row["species"] or "unknown_species")
    return ALL_GROUP


def plan_columns(rows: list[dict[str, Any]], aggregate: str, conn: Connection) -> Plan:
    """Which run goes into which group from which matrix, and why the others do not."""
    plan = Plan()
    summaries = newest_summaries(conn, (row["project_id"] for row in rows))
    for row in rows:
        run = row["run"]
        if run is None:
            plan.left_out[f"sample {row['sample']} (id {row['sample_id']})"] = (
                "no sequencing run of this sample in the catalog"
            )
            continue
        plan.runs[run] = row
        summary = summaries.get(int(row["project_id"]))
        if summary is None:
            plan.left_out[run] = (
                f"experiment {row['project']} has no gene matrix yet "
                f"(inv analyses.summarise --experiment {row['project']})"
            )
            continue
        metadata = summary["metadata"]
        if run not in metadata.get("samples", {}):
            reason = metadata.get("left_out", {}).get(run)
            plan.left_out[run] = (
                f"left out of {row['project']}'s gene matrix: {reason}"
                if reason
                else f"not in {row['project']}'s newest gene matrix (not quantified when it "
                "was made; inv analyses.summarise makes a new one)"
            )
            continue
        analysis_id = int(summary["analysis_id"])
        plan.summaries[int(row["project_id"])] = analysis_id
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
