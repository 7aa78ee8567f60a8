"""An organism's compendium from its experiments' gene matrices: the anchor's steps, each a
pure function of plain arrays, in the anchor's order (refine.bio's `create_compendia`):

1. `genes_in_most_samples`: keep the genes with a value in more than half of all samples.
2. `drop_low_expression` (RNA-seq only): drop genes with no value, then genes whose sum over
   the samples is below the 10th percentile of those sums (linear interpolation) — the
   lowest-expressed tenth, which carries mostly noise.
3. `log2_once`: log2(x + 1) of values on the linear scale. Each matrix says whether it is
   on the log2 scale already (microarrays are, from RMA; RNA-seq lengthScaledTPM is not),
   and this step only ever transforms a linear one and returns it marked log2 — so no value
   is logged twice, whatever the order the steps are called in (the anchor's users suspected
   a double log2 on RNA-seq; this is why it cannot happen here).
4. `outer_join`: one matrix, by gene; a gene an experiment lacks is missing in its samples.
5. `drop_sparse`: genes with a value in fewer than 70% of samples are dropped, then samples
   with a value for fewer than 50% of the remaining genes, each with its reason. A zero of
   an RNA-seq sample (log2(0 + 1) = 0: nothing measured) counts as absent here, as in the
   anchor, but is kept as zero afterwards — never imputed.
6. `impute.iterative_svd` (rank 10) fills the remaining missing values; the count is kept.
7. Quantile normalisation to the organism's target (or, without one, to the compendium's own).

`build_compendium` runs them all and returns the matrix with everything a record needs: how
many values were imputed, which genes and samples were dropped and why, and the values
before imputation and normalisation (which users asked for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from workers.processors.expression.impute import iterative_svd
from workers.processors.expression.quantile import determine_target, normalize_to_target

Matrix = NDArray[np.float64]
Names = NDArray[np.str_]
GENE_PRESENCE = 0.5  # kept if present in more than this share of samples (step 1)
LOW_EXPRESSION_PERCENTILE = 10.0
GENE_MINIMUM = 0.7  # dropped if present in fewer than this share of samples (step 5)
SAMPLE_MINIMUM = 0.5
IMPUTATION_RANK = 10


@dataclass(frozen=True)
class ExperimentMatrix:
    """One experiment's genes × samples; `log2` says whether the values are log2 already."""

    genes: Names
    samples: list[str]
    values: Matrix
    rnaseq: bool
    log2: bool


@dataclass
class Compendium:
    genes: Names
    samples: list[str]
    values: Matrix
    before_imputation: Matrix
    imputed: int
    dropped_genes: dict[str, str] = field(default_factory=dict)
    dropped_samples: dict[str, str] = field(default_factory=dict)
    low_expression_genes: int = 0


def _rows(matrix: ExperimentMatrix, keep: NDArray[np.bool_]) -> ExperimentMatrix:
    return replace(matrix, genes=matrix.genes[keep], values=matrix.values[keep])


def genes_in_most_samples(matrices: Sequence[ExperimentMatrix]) -> list[ExperimentMatrix]:
    """Each matrix with only the genes present (a value) in more than half of all samples."""
    total = sum(len(matrix.samples) for matrix in matrices)
    counts: dict[str, int] = {}
    for matrix in matrices:
        for gene, present in zip(
            matrix.genes.tolist(), (~np.isnan(matrix.values)).sum(axis=1).tolist(), strict=True
        ):
            counts[gene] = counts.get(gene, 0) + present
    kept = {gene for gene, count in counts.items() if count > GENE_PRESENCE * total}
    return [_rows(matrix, np.isin(matrix.genes, list(kept))) for matrix in matrices]


def drop_low_expression(matrix: ExperimentMatrix) -> tuple[ExperimentMatrix, int]:
    """An RNA-seq matrix without its genes with no value or a sum below the 10th percentile
    of the genes' sums; returns it and how many genes were dropped. Other matrices as they are.
    """
    if not matrix.rnaseq or matrix.genes.size == 0:
        return matrix, 0
    has_value = ~np.isnan(matrix.values).all(axis=1)
    sums = np.nansum(matrix.values, axis=1)
    threshold = np.percentile(sums[has_value], LOW_EXPRESSION_PERCENTILE) if has_value.any() else 0
    keep = has_value & (sums >= threshold)
    return _rows(matrix, keep), int((~keep).sum())


def log2_once(matrix: ExperimentMatrix) -> ExperimentMatrix:
    """The matrix on the log2 scale: log2(x + 1) if it is linear, itself if it is log2."""
    if matrix.log2:
        return matrix
    return replace(matrix, values=np.log2(matrix.values + 1.0), log2=True)


def outer_join(matrices: Sequence[ExperimentMatrix]) -> tuple[Names, list[str], Matrix]:
    """All matrices as one, genes sorted, samples in order; missing where a gene is absent."""
    genes = np.unique(np.concatenate([matrix.genes for matrix in matrices]))
    samples = [sample for matrix in matrices for sample in matrix.samples]
    joined = np.full((genes.size, len(samples)), np.nan)
    column = 0
    for matrix in matrices:
        width = len(matrix.samples)
        joined[np.searchsorted(genes, matrix.genes), column : column + width] = matrix.values
        column += width
    return genes, samples, joined


def drop_sparse(
    genes: Names, samples: list[str], values: Matrix, absent: NDArray[np.bool_]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], dict[str, str], dict[str, str]]:
    """Which genes and samples are kept (masks), and the reasons for those dropped.

    `absent` marks the values that count as not there (missing, and RNA-seq zeros).
    """
    present = ~absent
    gene_share = present.mean(axis=1) if values.shape[1] else np.zeros(genes.size)
    keep_genes = gene_share >= GENE_MINIMUM
    dropped_genes = {
        str(gene): f"present in {share:.0%} of samples (< {GENE_MINIMUM:.0%})"
        for gene, share in zip(genes[~keep_genes], gene_share[~keep_genes], strict=True)
    }
    remaining = present[keep_genes]
    sample_share = remaining.mean(axis=0) if remaining.shape[0] else np.zeros(len(samples))
    keep_samples = sample_share >= SAMPLE_MINIMUM
    dropped_samples = {
        sample: f"values for {share:.0%} of the genes kept (< {SAMPLE_MINIMUM:.0%})"
        for sample, share, kept in zip(samples, sample_share, keep_samples, strict=True)
        if not kept
    }
    return keep_genes, keep_samples, dropped_genes, dropped_samples


def build_compendium(
    matrices: Sequence[ExperimentMatrix], target: Matrix | None = None, *, seed: int = 0
) -> Compendium:
    """Steps 1–7 of the module docstring on `matrices`."""
    if not matrices:
        raise ValueError("a compendium needs at least one experiment")
    common = genes_in_most_samples(matrices)
    low = 0
    prepared = []
    for matrix in common:
        filtered, dropped = drop_low_expression(matrix)
        low += dropped
        prepared.append(log2_once(filtered))
    genes, samples, joined = outer_join(prepared)
    rnaseq_columns = np.concatenate(
        [np.full(len(matrix.samples), matrix.rnaseq) for matrix in prepared]
    )
    zero = (joined == 0.0) & rnaseq_columns[None, :]
    keep_genes, keep_samples, dropped_genes, dropped_samples = drop_sparse(
        genes, samples, joined, np.isnan(joined) | zero
    )
    kept = joined[np.ix_(keep_genes, keep_samples)]
    before = kept.copy()
    imputed = iterative_svd(kept, rank=IMPUTATION_RANK, seed=seed)
    goal = determine_target(imputed.values) if target is None else target
    normalised = normalize_to_target(imputed.values, goal)
    return Compendium(
        genes=genes[keep_genes],
        samples=[sample for sample, flag in zip(samples, keep_samples, strict=True) if flag],
        values=normalised,
        before_imputation=before,
        imputed=imputed.filled,
        dropped_genes=dropped_genes,
        dropped_samples=dropped_samples,
        low_expression_genes=low,
    )
