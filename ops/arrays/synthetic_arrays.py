"""A synthetic Affymetrix chip and arrays measured on it, from known probe intensities.

The chip is written as a text (GC3.0) CDF: `probe_sets` expression units of `probes` PM/MM
pairs each, laid out cell after cell on a square grid. Each probe set belongs to a gene (a few
genes have two probe sets, a few probe sets none), written as the chip's probe-to-gene table.
Each array is a text (version 3) CEL file, gzipped as GEO serves them:

    PM intensity = background + 2 ** (gene level + probe affinity + noise)
    MM intensity = background + a fifth of the PM signal

with gene levels between 2^6 and 2^11, a probe affinity per probe (the same on every array),
small noise per cell, and an additive background of about 60. The planted genes are 4× higher
(log2 +2) in the arrays of the second group: RMA should find log2 fold change 2 there and about
0 elsewhere. Seeded: the same arguments give the same files, byte for byte.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PLANTED_LOG2_FOLD_CHANGE = 2.0
BACKGROUND = 60.0


@dataclass(frozen=True)
class SyntheticChip:
    """The chip's name as its CEL headers give it, its CDF and probe-to-gene table."""

    name: str
    cdf: Path
    probe_genes: Path
    probe_sets: list[str]
    gene_of: dict[str, str]
    rows: int
    cols: int


@dataclass(frozen=True)
class SyntheticArrays:
    """The arrays (one gzipped CEL file per sample) and what was planted in them."""

    chip: SyntheticChip
    cel_files: dict[str, Path]
    second_group: list[str]
    planted_genes: list[str]
    gene_levels: dict[str, float] = field(default_factory=dict)


def _cell_index(cell: int, cols: int) -> tuple[int, int]:
    return cell % cols, cell // cols


def make_chip(
    folder: Path, *, name: str = "RFY-Test1", probe_sets: int = 300, probes: int = 8, seed: int = 7
) -> SyntheticChip:
    """Write `<name>.CDF` and `<name>.probe_genes.tsv` into `folder`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cells = probe_sets * probes * 2
    cols = math.isqrt(cells - 1) + 1
    rows = cols
    set_names = [f"RFY{number:05d}_at" for number in range(1, probe_sets + 1)]
    gene_of: dict[str, str] = {}
    gene_number = 0
    for position, probe_set in enumerate(set_names):
        if position % 37 == 36:
            continue  # a probe set no gene claims: dropped when mapping to genes
        if position % 23 == 22:
            gene_of[probe_set] = f"GENE{gene_number:05d}"  # a gene's second probe set
            continue
        gene_number += 1
        gene_of[probe_set] = f"GENE{gene_number:05d}"
    lines = [
        "[CDF]", "Version=GC3.0", "",
        "[Chip]", f"Name={name}", f"Rows={rows}", f"Cols={cols}",
        f"NumberOfUnits={probe_sets}", f"MaxUnit={probe_sets}", "NumQCUnits=0",
        "ChipReference=", "",
    ]  # fmt: skip
    header = ("CellHeader=X\tY\tPROBE\tFEAT\tQUAL\tEXPOS\tPOS\tCBASE\tPBASE\tTBASE\tATOM\tINDEX"
              "\tCODONIND\tCODON\tREGIONTYPE\tREGION")  # fmt: skip
    cell = 0
    for unit, probe_set in enumerate(set_names, start=1):
        lines += [
            f"[Unit{unit}]", "Name=NONE", "Direction=1", f"NumAtoms={probes}",
            f"NumCells={2 * probes}", f"UnitNumber={unit}", "UnitType=3", "NumberBlocks=1", "",
            f"[Unit{unit}_Block1]", f"Name={probe_set}", "BlockNumber=1", f"NumAtoms={probes}",
            f"NumCells={2 * probes}", "StartPosition=0", f"StopPosition={probes - 1}", header,
        ]  # fmt: skip
        number = 1
        for atom in range(probes):
            # PM: the probe's 13th base complements the target's; MM: it equals it.
            for pbase in ("T", "A"):
                x, y = _cell_index(cell, cols)
                lines.append(
                    f"Cell{number}={x}\t{y}\tN\tcontrol\t{probe_set}\t{atom}\t13\tA\t{pbase}\tA"
                    f"\t{atom}\t{x + y * cols}\t-1\t-1\t99\t"
                )
                cell += 1
                number += 1
        lines.append("")
    cdf = folder / f"{name}.CDF"
    cdf.write_text("\r\n".join(lines) + "\r\n")
    table = folder / f"{name}.probe_genes.tsv"
    table.write_text(
        "probe_set\tgene\n" + "".join(f"{ps}\t{gene_of[ps]}\n" for ps in set_names if ps in gene_of)
    )
    del rng
    return SyntheticChip(name, cdf, table, set_names, gene_of, rows, cols)


def make_arrays(
    folder: Path,
    chip: SyntheticChip,
    *,
    samples: list[str],
    second_group: list[str],
    probes: int = 8,
    planted_genes: int = 15,
    seed: int = 11,
) -> SyntheticArrays:
    """One gzipped CEL file per sample (`<sample>.CEL.gz`), the planted genes 4× higher in
    `second_group`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    genes = sorted(set(chip.gene_of.values()))
    levels = dict(zip(genes, rng.uniform(6.0, 11.0, len(genes)), strict=True))
    planted = sorted(rng.choice(genes, size=planted_genes, replace=False).tolist())
    unmapped_level = rng.uniform(6.0, 11.0, len(chip.probe_sets))
    affinity = rng.normal(0.0, 0.6, (len(chip.probe_sets), probes))
    files = {}
    for sample in samples:
        values = np.full(chip.rows * chip.cols, BACKGROUND)
        cell = 0
        for position, probe_set in enumerate(chip.probe_sets):
            gene = chip.gene_of.get(probe_set)
            level = levels[gene] if gene else unmapped_level[position]
            if gene in planted and sample in second_group:
                level += PLANTED_LOG2_FOLD_CHANGE
            for atom in range(probes):
                signal = 2.0 ** (level + affinity[position, atom] + rng.normal(0.0, 0.15))
                values[cell] = rng.normal(BACKGROUND, 8.0) + signal
                values[cell + 1] = rng.normal(BACKGROUND, 8.0) + signal / 5.0
                cell += 2
        values[cell:] = rng.normal(BACKGROUND, 8.0, values.size - cell)
        path = folder / f"{sample}.CEL.gz"
        path.write_bytes(gzip.compress(_cel_text(chip, np.maximum(values, 1.0)), mtime=0))
        files[sample] = path
    return SyntheticArrays(chip, files, list(second_group), planted, levels)


def _cel_text(chip: SyntheticChip, values: np.ndarray) -> bytes:
    """A version 3 (text) CEL file; the chip's name stands before `.1sq` in DatHeader, where
    affyio reads it."""
    lines = [
        "[CEL]", "Version=3", "",
        "[HEADER]", f"Cols={chip.cols}", f"Rows={chip.rows}", f"TotalX={chip.cols}",
        f"TotalY={chip.rows}", "OffsetX=0", "OffsetY=0",
        "GridCornerUL=200 200", "GridCornerUR=4500 200", "GridCornerLR=4500 4500",
        "GridCornerLL=200 4500", "Axis-invertX=0", "AxisInvertY=0", "swapXY=0",
        f"DatHeader=[0..46113]  {chip.name}:CLS={chip.cols} RWS={chip.rows} XIN=3  YIN=3  VE=17"
        f"        2.0 01/01/26 00:00:00       \x14  \x14 {chip.name}.1sq \x14  \x14  \x14  \x14"
        "  \x14 570 \x14 25540.671875 \x14 3.500000 \x14 1.5600 \x14 3",
        "Algorithm=Percentile",
        "AlgorithmParameters=Percentile:75;CellMargin:2;OutlierHigh:1.500;OutlierLow:1.004",
        "",
        "[INTENSITY]", f"NumberCells={values.size}", "CellHeader=X\tY\tMEAN\tSTDV\tNPIXELS",
    ]  # fmt: skip
    for cell, value in enumerate(values):
        x, y = _cell_index(cell, chip.cols)
        lines.append(f"{x:3d}\t{y:3d}\t{value:.1f}\t{value / 10:.1f}\t 16")
    lines += ["", "[MASKS]", "NumberCells=0", "CellHeader=X\tY", "",
              "[OUTLIERS]", "NumberCells=0", "CellHeader=X\tY", "",
              "[MODIFIED]", "NumberCells=0", "CellHeader=X\tY\tORIGMEAN", ""]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")
