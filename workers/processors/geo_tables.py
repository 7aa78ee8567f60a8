"""The `geo_table` application: an array sample that only has its submitter's processed table,
converted to genes.

GEO's accession viewer gives a sample as SOFT text (`workers.surveyors.geo_arrays`): its
`!Sample_…` lines, then the table between `!sample_table_begin` and `!sample_table_end`, whose
header names `ID_REF` (the chip's probe set) and `VALUE` (the submitter's value). Rows whose
value is not a number (`null`, empty) are not measurements and are skipped. The identifiers are
mapped through the chip's probe-to-gene table (the chip GEO's platform title names; its
definition must be known, as for RMA), a gene's value being the mean of its probe sets', as
`affy` does. The share of the table's identifiers that map is recorded; below `[arrays]
table_floor_percent` the sample fails for good with that share as the reason.

The result is the gene-level result every sample gets: a gene matrix TSV (`Gene`, then the
sample — `gene_submitted.tsv`, values as the submitter processed them) and `gene_matrix.json`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import ValidationError
from common.settings.jobs import ArraySettings
from workers.processors.affy import tsv_bytes
from workers.processors.affy_chips import fetch_chip, package_name, summarise_to_genes
from workers.processors.affy_r import ProbeSetValues
from workers.processors.applications import run_application
from workers.processors.quantify import local_copy
from workers.registry import JobContext, handler

APPLICATION = "geo_table"


class MalformedTable(ValidationError):
    """The file holds no sample table with ID_REF and VALUE columns."""


class TableDoesNotMap(ValidationError):
    """Too few of the table's identifiers are probe sets of its chip with a gene."""


def read_sample_table(path: Path) -> dict[str, float]:
    """ID_REF → VALUE of the sample table in GEO's SOFT text of one sample."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().lower() == "!sample_table_begin"]
    if not starts:
        raise MalformedTable(f"{path.name}: no !sample_table_begin; not a GEO sample table")
    header = lines[starts[0] + 1].split("\t") if len(lines) > starts[0] + 1 else []
    if "ID_REF" not in header or "VALUE" not in header:
        raise MalformedTable(f"{path.name}: its table has no ID_REF and VALUE columns")
    ids, value_column = header.index("ID_REF"), header.index("VALUE")
    table: dict[str, float] = {}
    for line in lines[starts[0] + 2 :]:
        if line.strip().lower() == "!sample_table_end":
            return table
        fields = line.split("\t")
        try:
            value = float(fields[value_column])
        except (IndexError, ValueError):
            continue
        if math.isfinite(value) and fields[ids].strip():
            table[fields[ids].strip()] = value
    raise MalformedTable(f"{path.name}: its table has no !sample_table_end (cut off?)")


@handler("process", APPLICATION)
def process_geo_table(ctx: JobContext) -> dict[str, Any]:
    """Convert one sample's processed table to genes through its chip's probe-to-gene table."""
    floor = ArraySettings.for_environment(ctx.env).table_floor_percent
    provenance: dict[str, Any] = {}

    def compute(ctx: JobContext, experiments: list[dict[str, Any]]) -> dict[str, bytes]:
        if len(experiments) != 1 or len(experiments[0]["files"]) != 1:
            raise ValidationError("geo_table converts one sample's one table per job")
        (experiment,) = experiments
        accession = experiment["accession"]
        folder = ctx.scratch_dir / "table"
        folder.mkdir()
        table = read_sample_table(local_copy(ctx, experiment["files"][0], folder))
        chip = str((experiment.get("metadata") or {}).get("array", {}).get("chip") or "")
        if not chip:
            raise ValidationError(f"{accession}: its platform's title names no chip")
        definition = fetch_chip(ctx.lake, package_name(chip), chip, folder / "chip")
        values = ProbeSetValues(list(table), [accession], np.array([[v] for v in table.values()]))
        genes = summarise_to_genes(values, definition.probe_genes)
        share = 100.0 * genes.share_mapped
        if not table or share < floor:
            raise TableDoesNotMap(
                f"{accession}: {share:.1f}% of its table's {len(table)} identifiers map to genes "
                f"of chip {chip}, below the floor of {floor:g}% ([arrays] table_floor_percent)"
            )
        provenance.update({
            "chip": chip, "chip_package": definition.package, "scale": "as submitted",
            "samples": [accession], "left_out": {}, "identifiers": len(table),
            "identifiers_mapped": genes.probe_sets_mapped, "share_mapped": round(share / 100, 6),
            "genes": len(genes.genes), "gene_summary": "mean of the gene's probe sets",
            "values_file": "gene_submitted.tsv",
        })  # fmt: skip
        ctx.log.info("%s: %.1f%% of %d identifiers mapped to %d genes", accession, share,
                     len(table), len(genes.genes))  # fmt: skip
        summary = json.dumps(provenance, indent=2, sort_keys=True) + "\n"
        return {
            "gene_submitted.tsv": tsv_bytes("Gene", genes.genes, genes.samples, genes.values),
            "gene_matrix.json": summary.encode(),
        }

    return run_application(ctx, compute, metadata=provenance)
