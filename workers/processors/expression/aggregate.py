"""One matrix per group from experiments' gene matrices, in memory bounded by a block.

A dataset joins the gene matrices (TSV, genes × samples) of the experiments asked for into one
matrix per group (an experiment, a species, all), by gene with an outer join — a gene missing
from an experiment is missing (an empty cell) in its samples — optionally quantile-normalised
to a target and scaled per gene. Held whole, such a matrix is what made the anchor's memory
quadruple on large organisms; here nothing ever holds it:

1. The gene ids of every file (cleaned: `matrices.read_gene_matrix`) give the group's genes,
   sorted.
2. Each file is read `samples_per_read` columns at a time; each column is quantile-normalised
   on its own present values (which is all preprocessCore uses; the join's missing values take
   no part), placed on the group's genes and spilled, row-major, to a scratch file.
3. The output is written `genes_per_block` genes at a time: the block's rows are read from
   every spilled piece, scaled per gene across all the group's samples, and appended to
   `<group>.tsv.partial`, renamed to `<group>.tsv` when complete.

So memory grows with one read (genes × samples_per_read) or one block
(genes_per_block × samples), whichever is larger, plus the target — not with the matrix.
Scratch space on disk is 8 bytes a value, removed when done. A sample is in the matrix or in
`left_out` with its reason, never silently absent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from common.errors import ValidationError
from workers.processors.expression.matrices import (
    Names,
    read_gene_matrix,
    read_genes,
    read_header,
    write_block,
)
from workers.processors.expression.quantile import normalize_to_target, sorted_target
from workers.processors.expression.scaling import Scaling, scale_genes

GENES_PER_BLOCK = 1000
SAMPLES_PER_READ = 64


@dataclass
class GroupMatrix:
    """What was written for one group."""

    group: str
    path: Path
    genes: int
    samples: list[str]
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Piece:
    """Some samples' normalised values on the group's genes, row-major in a scratch file."""

    path: Path
    samples: list[str]

    def rows(self, start: int, stop: int) -> NDArray[np.float64]:
        width = len(self.samples)
        values = np.fromfile(
            self.path, dtype=np.float64, count=(stop - start) * width, offset=start * width * 8
        )
        return values.reshape(stop - start, width)


def aggregate_groups(
    groups: Mapping[str, Sequence[Path]],
    out_dir: Path,
    *,
    target: NDArray[np.float64] | None = None,
    scaling: Scaling = Scaling.NONE,
    genes_per_block: int = GENES_PER_BLOCK,
    samples_per_read: int = SAMPLES_PER_READ,
    on_group: Callable[[GroupMatrix], None] | None = None,
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
        if on_group is not None:
            on_group(result)
        results.append(result)
    return results


def write_group_matrix(
    group: str,
    files: Sequence[Path],
    out_path: Path,
    *,
    target: NDArray[np.float64] | None = None,
    scaling: Scaling = Scaling.NONE,
    genes_per_block: int = GENES_PER_BLOCK,
    samples_per_read: int = SAMPLES_PER_READ,
) -> GroupMatrix:
    """Join `files` by gene, normalise, scale and write them as one TSV at `out_path`."""
    if genes_per_block < 1 or samples_per_read < 1:
        raise ValueError("blocks need at least one gene and one sample")
    goal = None if target is None else sorted_target(target)
    columns, left_out = _columns_to_read(files)
    genes = _group_genes(columns)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=out_path.parent) as scratch:
        pieces = _spill(columns, genes, goal, Path(scratch), samples_per_read, left_out)
        samples = [sample for piece in pieces for sample in piece.samples]
        partial = out_path.with_name(out_path.name + ".partial")
        with partial.open("wb") as handle:
            if genes.size == 0 or not samples:
                handle.write("\t".join(["Gene", *samples]).encode() + b"\n")
            for start in range(0, genes.size if samples else 0, genes_per_block):
                stop = min(start + genes_per_block, genes.size)
                block = np.hstack([piece.rows(start, stop) for piece in pieces])
                block = scale_genes(block, scaling)
                write_block(handle, genes[start:stop], samples, block, header=start == 0)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out_path)
    return GroupMatrix(group, out_path, int(genes.size), samples, left_out)


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


def _group_genes(columns: list[tuple[Path, list[str]]]) -> Names:
    genes: set[str] = set()
    for path, samples in columns:
        if samples:
            genes.update(read_genes(path).tolist())
    return np.asarray(sorted(genes), dtype=np.str_)


def _spill(
    columns: list[tuple[Path, list[str]]],
    genes: Names,
    goal: NDArray[np.float64] | None,
    scratch: Path,
    samples_per_read: int,
    left_out: dict[str, str],
) -> list[_Piece]:
    pieces = []
    for path, samples in columns:
        for start in range(0, len(samples), samples_per_read):
            read = read_gene_matrix(path, samples[start : start + samples_per_read])
            # A sample with no value at all (or a file with no gene) has nothing to join.
            keep = (~np.isnan(read.values)).any(axis=0)
            for sample, flag in zip(read.samples, keep, strict=True):
                if not flag:
                    left_out[sample] = f"no values in {path.name}"
            values = read.values[:, keep]
            kept = [sample for sample, flag in zip(read.samples, keep, strict=True) if flag]
            if not kept:
                continue
            if goal is not None:
                values = normalize_to_target(values, goal)
            placed = np.full((genes.size, len(kept)), np.nan)
            placed[np.searchsorted(genes, read.genes)] = values
            piece = _Piece(scratch / f"{len(pieces)}.f64", kept)
            placed.tofile(piece.path)
            pieces.append(piece)
    return pieces
