"""One matrix per group from experiments' gene matrices, in memory bounded by a block.

A dataset joins the gene matrices (TSV, genes × samples) of the experiments asked for into one
matrix per group (an experiment, a species, all), by gene with an outer join — a gene missing
from an experiment is missing (an empty cell) in its samples — optionally quantile-normalised
to a target and scaled per gene. Held whole, such a matrix is what made the anchor's memory
quadruple on large organisms; here nothing ever holds it:

1. Each file is read once, `samples_per_read` columns at a time, its gene ids cleaned
   (`matrices.read_gene_matrix`, which sorts the rows by gene); each column is
   quantile-normalised on its own present values (which is all preprocessCore uses: the
   join's missing values take no part) and spilled, row-major, to a scratch file. The
   group's genes are the union of the files' genes, sorted.
2. The output is written a block of genes at a time (`genes_per_block`, or
   `GENES_PER_BLOCK` unless that makes more than `BLOCK_VALUES` values with every sample of
   the group): for each file, the rows of its genes in the block (a contiguous range, both
   being sorted) are read from its pieces into the block, which is scaled per gene across
   all the group's samples and appended to `<group>.tsv.partial`, renamed to `<group>.tsv`
   when complete.

So memory grows with one read (genes × samples_per_read) or one block, whichever is larger,
plus the target — not with the matrix, nor (blocks sized by values) with its samples.
Scratch space on disk is 8 bytes a value, removed when done. A sample is in the matrix or in
`left_out` with its reason, never silently absent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from common.errors import ValidationError
from common.failpoints import failpoint
from workers.processors.expression.matrices import (
    Names,
    read_gene_matrix,
    read_header,
    write_block,
)
from workers.processors.expression.quantile import normalize_to_target, sorted_target
from workers.processors.expression.scaling import Scaling, scale_genes

GENES_PER_BLOCK = 1000  # at most, however few samples
BLOCK_VALUES = 1_000_000  # at most: 8 MB of doubles a block, however many samples
SAMPLES_PER_READ = 64


@dataclass
class GroupMatrix:
    """What was written for one group."""

    group: str
    path: Path
    genes: int
    samples: list[str]
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass
class _Source:
    """One file's genes (sorted, in scratch) and its samples' normalised values in pieces.

    A piece is some of the file's samples, row-major in a scratch file, rows in the order
    of the file's sorted genes. `positions` is where each of those genes is in the group's
    genes (saved once the group's genes are known); `bounds[b]` is the first of the file's
    rows at or after block b's first gene.
    """

    genes_path: Path
    pieces: list[tuple[Path, list[str]]] = field(default_factory=list)
    positions_path: Path | None = None
    bounds: NDArray[np.int64] | None = None

    def place(self, group_genes: Names, block_starts: NDArray[np.int64]) -> None:
        genes = np.load(self.genes_path)
        positions = np.searchsorted(group_genes, genes).astype(np.int64)
        self.positions_path = self.genes_path.with_suffix(".positions")
        positions.tofile(self.positions_path)
        self.bounds = np.searchsorted(positions, block_starts).astype(np.int64)
        self.genes_path.unlink()

    def fill(self, block: NDArray[np.float64], number: int, first_gene: int, column: int) -> int:
        """Put this source's values for block `number` into `block` from `column` on;
        returns the next free column."""
        assert self.bounds is not None and self.positions_path is not None
        low, high = int(self.bounds[number]), int(self.bounds[number + 1])
        rows = np.fromfile(self.positions_path, np.int64, count=high - low, offset=low * 8)
        rows -= first_gene
        for path, samples in self.pieces:
            width = len(samples)
            values = np.fromfile(
                path, np.float64, count=(high - low) * width, offset=low * width * 8
            )
            block[rows, column : column + width] = values.reshape(high - low, width)
            column += width
        return column


def aggregate_groups(
    groups: Mapping[str, Sequence[Path]],
    out_dir: Path,
    *,
    target: NDArray[np.float64] | None = None,
    scaling: Scaling = Scaling.NONE,
    genes_per_block: int | None = None,
    samples_per_read: int = SAMPLES_PER_READ,
) -> list[GroupMatrix]:
    """Write `out_dir/<group>/<group>.tsv` for each group; returns what each holds."""
    results = []
    for group, files in groups.items():
        if not group or "/" in group or group.startswith("."):
            raise ValidationError(f"{group!r} cannot name a group's folder")
        result = write_group_matrix(
            group,
            files,
            out_dir / group / f"{group}.tsv",
            target=target,
            scaling=scaling,
            genes_per_block=genes_per_block,
            samples_per_read=samples_per_read,
        )
        results.append(result)
    return results


def write_group_matrix(
    group: str,
    files: Sequence[Path],
    out_path: Path,
    *,
    target: NDArray[np.float64] | None = None,
    scaling: Scaling = Scaling.NONE,
    genes_per_block: int | None = None,
    samples_per_read: int = SAMPLES_PER_READ,
) -> GroupMatrix:
    """Join `files` by gene, normalise, scale and write them as one TSV at `out_path`."""
    if (genes_per_block is not None and genes_per_block < 1) or samples_per_read < 1:
        raise ValueError("blocks need at least one gene and one sample")
    goal = None if target is None else sorted_target(target)
    columns, left_out = _columns_to_read(files)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=out_path.parent) as scratch:
        sources, genes = _spill(columns, goal, Path(scratch), samples_per_read, left_out)
        samples = [sample for source in sources for _, names in source.pieces for sample in names]
        per_block = genes_per_block or max(
            1, min(GENES_PER_BLOCK, BLOCK_VALUES // max(1, len(samples)))
        )
        block_starts = np.arange(0, genes.size + per_block, per_block)
        block_starts[-1] = min(block_starts[-1], genes.size)
        for source in sources:
            source.place(genes, block_starts)
        partial = out_path.with_name(out_path.name + ".partial")
        try:
            _write_blocks(partial, sources, genes, samples, block_starts, scaling)
        except BaseException:
            partial.unlink(missing_ok=True)  # never leave half a matrix behind
            raise
        os.replace(partial, out_path)
    return GroupMatrix(group, out_path, int(genes.size), samples, left_out)


def _write_blocks(
    partial: Path,
    sources: list[_Source],
    genes: Names,
    samples: list[str],
    block_starts: NDArray[np.int64],
    scaling: Scaling,
) -> None:
    with partial.open("wb") as handle:
        if genes.size == 0 or not samples:
            handle.write("\t".join(["Gene", *samples]).encode() + b"\n")
        for number, first in enumerate(block_starts[:-1] if samples else []):
            stop = int(block_starts[number + 1])
            block = np.full((stop - int(first), len(samples)), np.nan)
            column = 0
            for source in sources:
                column = source.fill(block, number, int(first), column)
            block = scale_genes(block, scaling)
            write_block(handle, genes[first:stop], samples, block, header=number == 0)
            failpoint("datasets.matrix.block_written")
        handle.flush()
        os.fsync(handle.fileno())


def _columns_to_read(files: Sequence[Path]) -> tuple[list[tuple[Path, list[str]]], dict[str, str]]:
    """Each file with the samples it contributes; a sample seen before is left out."""
    seen: dict[str, Path] = {}
    left_out: dict[str, str] = {}
    columns = []
    for path in files:
        kept = []
        for sample in read_header(path)[1:]:
            if sample in seen:
                left_out.setdefault(f"{sample} ({path.name})", f"already in {seen[sample].name}")
            else:
                seen[sample] = path
                kept.append(sample)
        columns.append((path, kept))
    return columns, left_out


def _spill(
    columns: list[tuple[Path, list[str]]],
    goal: NDArray[np.float64] | None,
    scratch: Path,
    samples_per_read: int,
    left_out: dict[str, str],
) -> tuple[list[_Source], Names]:
    """Read every file once, normalise, spill; returns the sources and the group's genes."""
    sources = []
    group_genes: set[str] = set()
    for number, (path, samples) in enumerate(columns):
        source = _Source(scratch / f"{number}.genes.npy")
        for start in range(0, len(samples), samples_per_read):
            read = read_gene_matrix(path, samples[start : start + samples_per_read])
            if start == 0:
                np.save(source.genes_path, read.genes)
                group_genes.update(read.genes.tolist())
            # A sample with no value at all (or a file with no gene) has nothing to join.
            has_value: NDArray[np.bool_] = np.any(~np.isnan(read.values), axis=0)
            keep = [bool(flag) for flag in has_value]
            for sample, flag in zip(read.samples, keep, strict=True):
                if not flag:
                    left_out[sample] = f"no values in {path.name}"
            kept = [sample for sample, flag in zip(read.samples, keep, strict=True) if flag]
            if not kept:
                continue
            values = read.values[:, np.asarray(keep, dtype=bool)]
            if goal is not None:
                values = normalize_to_target(values, goal)
            piece = scratch / f"{number}.{start}.f64"
            values.tofile(piece)
            source.pieces.append((piece, kept))
        if source.pieces:
            sources.append(source)
    return sources, np.asarray(sorted(group_genes), dtype=np.str_)
