"""An organism's quantile-normalisation target from its samples' gene matrices, streamed.

The target is what `normalize.quantiles.determine.target` gives for the outer join of the
matrices (`quantile.QnTarget` says how): the mean over samples of each sample's sorted values,
a sample lacking genes stretched to the join's length by preprocessCore's interpolation. Only
that length depends on the join, so the files are read twice — their gene ids, then their
values `samples_per_read` columns at a time — and memory holds one read and the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from workers.processors.expression.matrices import read_gene_matrix, read_header
from workers.processors.expression.quantile import QnTarget

SAMPLES_PER_READ = 64


@dataclass(frozen=True)
class Target:
    """A target and what it was made from."""

    values: NDArray[np.float64]
    samples: int
    genes: int
    skipped_empty: int


def target_from_files(
    files: Sequence[Path], *, length: int | None = None, samples_per_read: int = SAMPLES_PER_READ
) -> Target:
    """The target of the samples in `files` (resampled to `length` values if given)."""
    genes: set[str] = set()
    for path in files:
        if len(read_header(path)) > 1:
            genes.update(read_gene_matrix(path, []).genes.tolist())
    builder = QnTarget(rows=max(len(genes), 1))
    for path in files:
        samples = read_header(path)[1:]
        for start in range(0, len(samples), samples_per_read):
            builder.add(read_gene_matrix(path, samples[start : start + samples_per_read]).values)
    return Target(builder.target(length), builder.samples, len(genes), builder.skipped_empty)
