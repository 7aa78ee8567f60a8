"""How fast an experiment is summarised to gene level, next to R's tximport in the same run.

One synthetic experiment (ops/analyses/synthetic_quants.py) is written once; then

    Refinery   read every quant.sf (read_quant_files) and summarise_to_genes
    R          tximport(files, type = "salmon", tx2gene = …) on the same files, timed inside R
               around the tximport() call alone (R's start-up and library loading left out)

for the same countsFromAbundance, and the two results are compared gene by gene: the largest
relative difference per matrix is reported beside the ratio, so a fast wrong answer shows.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.shell import run_command
from ops.analyses.r_tximport import RGeneMatrix, run_r_tximport
from ops.analyses.synthetic_quants import write_synthetic_experiment
from ops.benchkit import Comparison
from workers.processors.tximport import (
    GeneMatrix,
    check_counts_from_abundance,
    read_quant_files,
    summarise_to_genes,
)

TARGET_RATIO = 5.0
FIELDS = ("counts", "abundance", "length")


@dataclass(frozen=True)
class SummariseBench:
    """The comparison and what stands beside it in `--json`."""

    comparison: Comparison
    details: dict[str, Any]


def max_relative_difference(ours: GeneMatrix, r: GeneMatrix | RGeneMatrix, field: str) -> float:
    """The largest |ours − R| / |R| over one matrix, genes matched by name; infinite when the
    genes, the samples or the places of NaN differ."""
    if sorted(r.genes) != ours.genes or list(r.samples) != ours.samples:
        return float("inf")
    row_of = {gene: row for row, gene in enumerate(ours.genes)}
    mine = getattr(ours, field)[[row_of[gene] for gene in r.genes]]
    theirs = getattr(r, field)
    missing = np.isnan(theirs)
    if not np.array_equal(np.isnan(mine), missing):
        return float("inf")
    mine, theirs = mine[~missing], theirs[~missing]
    scale = np.abs(theirs)
    difference = np.abs(mine - theirs)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(scale > 0, difference / scale, np.where(difference > 0, np.inf, 0.0))
    return float(relative.max()) if relative.size else 0.0


def _tximport_version() -> str:
    result = run_command(
        ["Rscript", "--vanilla", "-e", 'cat(format(packageVersion("tximport")))'],
        env={"TZ": "UTC"},
    )
    return result.stdout.strip()


def run_summarise_bench(
    *,
    samples: int = 100,
    transcripts: int = 40_000,
    counts_from_abundance: str = "lengthScaledTPM",
    repeats: int = 3,
) -> SummariseBench:
    """Summarise one synthetic experiment with Refinery and with R's tximport, same files,
    each the best of `repeats` runs."""
    check_counts_from_abundance(counts_from_abundance)
    with tempfile.TemporaryDirectory(prefix="refinery-bench-") as folder:
        work = Path(folder)
        experiment = write_synthetic_experiment(
            work / "quants", samples=samples, transcripts=transcripts
        )
        our_seconds = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            ours = summarise_to_genes(
                read_quant_files(experiment.quant_files),
                experiment.samples,
                experiment.tx2gene,
                counts_from_abundance,
            )
            our_seconds = min(our_seconds, time.perf_counter() - start)
        start = time.perf_counter()
        r: RGeneMatrix = run_r_tximport(
            experiment.quant_files,
            experiment.samples,
            experiment.tx2gene_file,
            work / "r",
            counts_from_abundance,
            repeats=repeats,
        )
        r_wall_seconds = time.perf_counter() - start
        version = _tximport_version()
    differences = {field: max_relative_difference(ours, r, field) for field in FIELDS}
    comparison = Comparison(
        f"gene matrix, {samples} samples × {experiment.transcripts:,} transcripts "
        f"({counts_from_abundance})",
        our_seconds,
        f"R tximport {version}",
        r.seconds,
        target=TARGET_RATIO,
    )
    details = {
        "samples": samples,
        "transcripts": experiment.transcripts,
        "genes": len(ours.genes),
        "counts_from_abundance": counts_from_abundance,
        "repeats": repeats,
        "max_relative_difference": differences,
        "r_seconds_all_runs_with_startup_and_output": r_wall_seconds,
    }
    return SummariseBench(comparison, details)
