"""The dataset benchmark: one quantile-normalised matrix from many experiments' gene matrices.

Synthetic experiments (gene matrices as TSV files, the same shape the RNA-seq summaries write)
are aggregated into one group, quantile-normalised to a target and written as one TSV, twice
in the same run on the same files:

* Refinery: `workers.processors.expression.aggregate.write_group_matrix`, which streams (one
  read of columns, one block of genes at a time);
* the peer, shaped like the anchor's smasher: pandas reads every file and outer-joins them
  by gene, R's `preprocessCore::normalize.quantiles.use.target` normalises the joined matrix,
  pandas writes it (`bench_child.py` says how the matrix reaches R).

Each side runs in processes of its own (`python -m ops.datasets.bench_child`, `Rscript`), so
its peak memory (VmHWM) is its own; the peer's peak is that of its largest process and its
time the sum of its three. Both outputs are then read back and must be the same matrix
(genes, samples, missing cells, and values within 1e-9) — a benchmark of a wrong answer is
no benchmark. Every experiment lacks a few genes, so the join has missing values to carry.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from common.environments import REPO_ROOT, state_root
from common.errors import ValidationError
from common.shell import run_command
from ops.benchkit import Comparison
from ops.progress import Progress, quiet

TOLERANCE = 1e-9
TIME_TARGET = 3.0
MEMORY_TARGET = 2.0  # peer's peak ÷ ours: ours at most half the peer's
PEER_R_SCRIPT = Path(__file__).with_name("peer_qn.R")


@dataclass(frozen=True)
class Side:
    """One side's wall time and the peak memory of its largest process."""

    seconds: float
    peak_rss_mb: float


@dataclass(frozen=True)
class DatasetsBench:
    samples: int
    genes: int
    experiments: int
    ours: Side
    peer: Side
    max_difference: float
    output_mb: float
    # The peer's three processes, each on its own: pandas join, R, pandas write.
    peer_steps: dict[str, Side]

    def comparisons(self) -> list[Comparison]:
        name = f"{self.samples:,} samples × {self.genes:,} genes, {self.experiments} experiments"
        return [
            Comparison(
                f"join + QN + write, {name}",
                self.ours.seconds,
                "pandas outer join + preprocessCore + pandas to_csv",
                self.peer.seconds,
                target=TIME_TARGET,
            ),
            Comparison(
                f"peak memory of the largest process, {self.samples:,} samples",
                self.ours.peak_rss_mb,
                "the same, its largest process",
                self.peer.peak_rss_mb,
                target=MEMORY_TARGET,
                measure="MB",
            ),
        ]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tolerance": TOLERANCE}


@dataclass(frozen=True)
class MemoryCurve:
    """The same benchmark at several sample counts (genes and experiments fixed): how each
    side's peak memory grows with the samples — the streaming side's should barely move."""

    runs: tuple[DatasetsBench, ...]

    def comparisons(self) -> list[Comparison]:
        return [comparison for run in self.runs for comparison in run.comparisons()]

    def rows(self) -> list[tuple[str, ...]]:
        """samples, each side's peak MB and its growth from the smallest run, the memory
        ratio (peer ÷ Refinery) and the time ratio."""
        first = self.runs[0]
        return [
            (
                f"{run.samples:,}",
                f"{run.ours.peak_rss_mb:,.0f}",
                f"{run.ours.peak_rss_mb / first.ours.peak_rss_mb:.2f}×",
                f"{run.peer.peak_rss_mb:,.0f}",
                f"{run.peer.peak_rss_mb / first.peer.peak_rss_mb:.2f}×",
                f"{run.peer.peak_rss_mb / run.ours.peak_rss_mb:.2f}×",
                f"{run.peer.seconds / run.ours.seconds:.2f}×",
            )
            for run in self.runs
        ]

    def as_dict(self) -> dict[str, Any]:
        return {"runs": [run.as_dict() for run in self.runs], "tolerance": TOLERANCE}


CURVE_COLUMNS = (
    "samples",
    "refinery peak MB",
    "vs smallest",
    "peer peak MB",
    "vs smallest",
    "memory: peer ÷ refinery",
    "time: peer ÷ refinery",
)


def generate(workdir: Path, samples: int, genes: int, experiments: int, *, seed: int = 23) -> None:
    """Write `experiments` gene matrices sharing `samples` samples, and a target.

    Values are lengthScaledTPM-like (gamma, a tenth zero, three decimals: many ties); each
    experiment lacks 1% of the genes and a few single values.
    """
    if samples < experiments or genes < 10 or experiments < 1:
        raise ValidationError("need at least one sample per experiment and ten genes")
    rng = np.random.default_rng(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    all_genes = np.array([f"ENSG{number:011d}" for number in range(genes)])
    per_experiment = np.array_split(np.arange(samples), experiments)
    listing = []
    for number, columns in enumerate(per_experiment):
        kept = np.sort(rng.choice(genes, size=genes - genes // 100, replace=False))
        values = np.round(rng.gamma(0.6, 40.0, size=(kept.size, columns.size)), 3)
        values[rng.random(values.shape) < 0.1] = 0.0
        values[rng.random(values.shape) < 0.001] = np.nan
        frame = pl.DataFrame({"Gene": all_genes[kept]}).hstack(
            pl.DataFrame(values, schema=[f"S{i:06d}" for i in columns], nan_to_null=True)
        )
        path = workdir / f"E{number:03d}.tsv"
        frame.write_csv(path, separator="\t", null_value="")
        listing.append(str(path))
    target = np.sort(np.round(rng.gamma(0.6, 40.0, size=(genes, 8)), 3), axis=0).mean(axis=1)
    np.savetxt(workdir / "target.txt", target, fmt="%.17g")
    (workdir / "files.txt").write_text("\n".join(listing) + "\n")
    (workdir / "ready").write_text(f"{samples} {genes} {experiments}\n")


def _timed(argv: list[str | Path]) -> Side:
    started = time.perf_counter()
    result = run_command(argv, cwd=REPO_ROOT)
    seconds = time.perf_counter() - started
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return Side(seconds, float(report["peak_rss_mb"]))


def _child(*args: str | Path) -> list[str | Path]:
    return [sys.executable, "-m", "ops.datasets.bench_child", *args]


def _read_output(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
    schema = {name: (pl.String if name == "Gene" else pl.Float64) for name in header}
    frame = pl.read_csv(path, separator="\t", schema=schema, null_values=[""])
    values = frame.drop("Gene").to_numpy().astype(np.float64)
    return frame.get_column("Gene").to_list(), frame.columns[1:], values


def compare_outputs(ours: Path, peer: Path) -> float:
    """The largest difference between the two matrices; raises if they are not the same."""
    our_genes, our_samples, our_values = _read_output(ours)
    peer_genes, peer_samples, peer_values = _read_output(peer)
    if our_genes != peer_genes or our_samples != peer_samples:
        raise ValidationError("the two matrices differ in their genes or samples")
    if not np.array_equal(np.isnan(our_values), np.isnan(peer_values)):
        raise ValidationError("the two matrices differ in which values are missing")
    present = ~np.isnan(our_values)
    difference = float(np.max(np.abs(our_values[present] - peer_values[present]), initial=0.0))
    if difference > TOLERANCE:
        raise ValidationError(f"the two matrices differ by up to {difference:.3g}")
    return difference


def run_bench(
    samples: int = 1000,
    genes: int = 20_000,
    experiments: int = 40,
    *,
    regenerate: bool = False,
    workdir: Path | None = None,
    progress: Progress = quiet,
) -> DatasetsBench:
    """Generate (or reuse) the inputs, run both sides, check they agree."""
    workdir = workdir or state_root() / "bench-datasets" / f"{samples}x{genes}x{experiments}"
    inputs = workdir / "inputs"
    if regenerate or not (inputs / "ready").exists():
        progress(f"writing {experiments} experiments, {samples:,} samples × {genes:,} genes")
        generate(inputs, samples, genes, experiments)
    files, target = inputs / "files.txt", inputs / "target.txt"
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    progress("Refinery: join, normalise, write")
    ours = _timed(_child("ours", files, target, out / "refinery.tsv"))
    progress("peer: pandas join")
    matrix = out / "joined.f64"
    join = _timed(_child("peer-join", files, matrix))
    progress("peer: preprocessCore")
    normalise = _timed(["Rscript", "--vanilla", PEER_R_SCRIPT, matrix, target, f"{matrix}.qn"])
    progress("peer: pandas write")
    write = _timed(_child("peer-write", matrix, out / "peer.tsv"))
    peer = Side(
        join.seconds + normalise.seconds + write.seconds,
        max(join.peak_rss_mb, normalise.peak_rss_mb, write.peak_rss_mb),
    )
    progress("comparing the two matrices")
    difference = compare_outputs(out / "refinery.tsv", out / "peer.tsv")
    output_mb = (out / "refinery.tsv").stat().st_size / 1e6
    for scratch in (matrix, Path(f"{matrix}.qn")):
        scratch.unlink(missing_ok=True)
    steps = {"pandas join": join, "preprocessCore": normalise, "pandas write": write}
    return DatasetsBench(samples, genes, experiments, ours, peer, difference, output_mb, steps)


def run_curve(
    counts: tuple[int, ...],
    genes: int = 20_000,
    experiments: int = 40,
    *,
    regenerate: bool = False,
    progress: Progress = quiet,
) -> MemoryCurve:
    """`run_bench` at each sample count in turn (each on inputs of its own)."""
    return MemoryCurve(
        tuple(
            run_bench(count, genes, experiments, regenerate=regenerate, progress=progress)
            for count in counts
        )
    )
