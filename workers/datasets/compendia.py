"""An organism's compendium: every processed sample of it, through the anchor's steps.

The steps are `workers.processors.expression.compendium`'s (genes in most samples, low
expression dropped, log2(x + 1) once, outer join, sparse genes and samples dropped, iterative
SVD imputation, quantile normalisation to the compendium's own target — the organism's QN
target is made of linear values, the compendium's are log2). Its inputs are each project's
newest gene matrix (lengthScaledTPM counts, linear: RNA-seq, marked not yet log2, so log2 is
applied exactly once). The archive holds the normalised matrix, the same genes and samples
on the log2 scale before imputation and normalisation (`raw_<organism>.tsv`), and the
record states how many values were imputed and which genes and samples were dropped and why.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import ValidationError
from workers.datasets import bundle
from workers.datasets.handlers import dataset_record, fetch_matrices, store_archive, subsets
from workers.datasets.sources import organism_plan
from workers.processors.expression.compendium import ExperimentMatrix, build_compendium
from workers.processors.expression.matrices import read_gene_matrix, write_block
from workers.registry import JobContext, handler

VALUES = "log2(x + 1) of lengthScaledTPM counts (tximport), imputed, quantile-normalised"


def _write_matrix(path: Path, genes: np.ndarray, samples: list[str], values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_block(handle, genes, samples, values, header=True)
    return path


@handler("dataset", "compendium")
def build_organism_compendium(ctx: JobContext) -> dict[str, Any]:
    """Build, package and record an organism's compendium."""
    dataset = dataset_record(ctx)
    dataset_id, organism = int(dataset["id"]), str(dataset["organism"])
    plan = organism_plan(ctx.conn, organism)
    if not plan.groups:
        raise ValidationError(f"{organism} has no processed sample for a compendium")
    work = ctx.scratch_dir / f"compendium-{dataset_id}"
    matrices = fetch_matrices(ctx, plan, work / "inputs")
    experiments = []
    for sources in plan.groups.values():
        for path in subsets(matrices, sources, work / "subsets"):
            read = read_gene_matrix(path)
            experiments.append(
                ExperimentMatrix(read.genes, read.samples, read.values, rnaseq=True, log2=False)
            )
    compendium = build_compendium(experiments)
    group = next(iter(plan.groups))
    out = work / "archive"
    matrix = _write_matrix(
        out / group / f"{group}.tsv", compendium.genes, compendium.samples, compendium.values
    )
    raw = _write_matrix(
        out / group / f"raw_{group}.tsv",
        compendium.genes,
        compendium.samples,
        compendium.before_imputation,
    )
    metadata = bundle.write_metadata_tsv(
        out / group / f"metadata_{group}.tsv", [plan.runs[run] for run in compendium.samples]
    )
    left_out = {**plan.left_out, **compendium.dropped_samples}
    contents = {
        "groups": {group: {"samples": compendium.samples, "genes": int(compendium.genes.size)}},
        "imputed": compendium.imputed,
        "dropped_samples": compendium.dropped_samples,
        "dropped_genes": compendium.dropped_genes,
        "low_expression_genes": compendium.low_expression_genes,
        "left_out": left_out,
        "log2": "applied once, log2(x + 1), to the linear lengthScaledTPM counts",
        "gene_matrices": {str(p): a for p, a in sorted(plan.summaries.items())},
    }
    summary = {
        "organism": organism,
        "dataset_id": dataset_id,
        "values": VALUES,
        **contents,
        "runs": {run: bundle.metadata_row(row) for run, row in sorted(plan.runs.items())},
    }
    files = {
        f"{group}/{group}.tsv": "the compendium",
        f"{group}/raw_{group}.tsv": "its genes and samples, log2, before imputation and "
        "normalisation (empty cells were imputed)",
        f"{group}/metadata_{group}.tsv": f"one row per column of {group}.tsv",
        bundle.LEFT_OUT: "samples left out or dropped, and why",
        bundle.METADATA_JSON: "what was imputed and dropped, and every run's metadata",
    }
    members = [
        (
            "README.md",
            bundle.write_readme(
                out / "README.md",
                f"Compendium of {organism}",
                {
                    "facts": {
                        "values": VALUES,
                        "samples": len(compendium.samples),
                        "genes": int(compendium.genes.size),
                        "values imputed": compendium.imputed,
                        "genes dropped": len(compendium.dropped_genes),
                        "samples dropped": len(compendium.dropped_samples),
                    },
                    "files": files,
                },
            ),
        ),
        ("LICENSE.TXT", bundle.write_license(out / "LICENSE.TXT")),
        (bundle.METADATA_JSON, bundle.write_json(out / bundle.METADATA_JSON, summary)),
        (bundle.LEFT_OUT, bundle.write_left_out(out / bundle.LEFT_OUT, left_out)),
        (f"{group}/{group}.tsv", matrix),
        (f"{group}/raw_{group}.tsv", raw),
        (f"{group}/metadata_{group}.tsv", metadata),
    ]
    result = store_archive(ctx, dataset_id, members, contents)
    shutil.rmtree(work, ignore_errors=True)
    ctx.log.info("compendium %d of %s: %d imputed", dataset_id, organism, compendium.imputed)
    return {**result, "imputed": compendium.imputed}
