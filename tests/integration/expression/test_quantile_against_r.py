"""Quantile normalisation and its target equal preprocessCore's, run in R on the same numbers.

Random matrices with many ties (values drawn from a handful of levels) and missing values,
against targets as long as the matrix, longer and shorter, unsorted and with missing values;
the edge cases preprocessCore defines (a column with one present value, a column with none,
a one-value target) included. Equal to 1e-9 — in practice bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.rscript import R_WRITE, read_matrix, run_r, write_matrix
from workers.processors.expression.quantile import QnTarget, determine_target, normalize_to_target

pytestmark = [pytest.mark.integration, pytest.mark.r]

TOLERANCE = 1e-9
CASES = 24


def _case(rng: np.random.Generator, number: int) -> tuple[np.ndarray, np.ndarray, int]:
    rows = int(rng.integers(4, 300))
    cols = int(rng.integers(1, 9))
    levels = rng.gamma(2.0, 50.0, size=int(rng.integers(2, 12)))
    matrix = rng.choice(levels, size=(rows, cols))  # ties everywhere
    matrix[:, -1] = rng.gamma(2.0, 50.0, size=rows)  # and one column without
    matrix[rng.random(matrix.shape) < rng.uniform(0.0, 0.4)] = np.nan
    matrix[:, 0] = rng.choice(levels, size=rows)  # one column with nothing missing
    if number % 6 == 5:
        matrix = np.column_stack([matrix, np.full(rows, np.nan), np.full(rows, np.nan)])
        matrix[int(rng.integers(0, rows)), -2] = 7.0  # a single present value
        # and the last column with none at all
    length = [rows, rows + int(rng.integers(1, 50)), max(2, rows - int(rng.integers(1, rows)))][
        number % 3
    ]
    target = rng.gamma(2.0, 20.0, size=length)
    target[int(rng.integers(0, length))] = target[0]  # a tie in the target too
    if number % 4 == 3:
        target[int(rng.integers(0, length))] = np.nan  # dropped, as preprocessCore drops it
    else:
        target = np.sort(target)
    return matrix, target, length


def test_normalize_and_determine_target_equal_preprocesscore(tmp_path: Path) -> None:
    rng = np.random.default_rng(2026)
    cases = [_case(rng, number) for number in range(CASES)]
    for number, (matrix, target, _length) in enumerate(cases):
        write_matrix(tmp_path / f"x{number}.tsv", matrix)
        write_matrix(tmp_path / f"t{number}.tsv", target[:, None])
        # determine.target reads memory it never wrote for an all-missing column: not compared.
        write_matrix(tmp_path / f"d{number}.tsv", matrix[:, ~np.isnan(matrix).all(axis=0)])
    run_r(
        "suppressPackageStartupMessages(library(preprocessCore))\n"
        + R_WRITE
        + f"for (i in 0:{CASES - 1}) {{\n"
        "  x <- read_matrix(sprintf('x%d.tsv', i))\n"
        "  t <- as.vector(read_matrix(sprintf('t%d.tsv', i)))\n"
        "  write_matrix(normalize.quantiles.use.target(x, t), sprintf('n%d.tsv', i))\n"
        "  d <- read_matrix(sprintf('d%d.tsv', i))\n"
        "  write_matrix(as.matrix(normalize.quantiles.determine.target(d)),"
        " sprintf('dt%d.tsv', i))\n"
        "  write_matrix(as.matrix(normalize.quantiles.determine.target(d, length(t))),"
        " sprintf('dl%d.tsv', i))\n"
        "  write_matrix(as.matrix(normalize.quantiles.determine.target(d, 1L)),"
        " sprintf('d1_%d.tsv', i))\n"
        "}\n",
        tmp_path,
    )
    assert sum(bool(np.isnan(m).all(axis=0).any()) for m, _, _ in cases) == CASES // 6
    worst = 0.0
    for number, (matrix, target, length) in enumerate(cases):
        ours = normalize_to_target(matrix, target)
        theirs = read_matrix(tmp_path / f"n{number}.tsv")
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), f"case {number}: NA differ"
        assert np.array_equal(np.isnan(ours), np.isnan(matrix)), "missing values stay missing"
        present = ~np.isnan(ours)
        worst = max(worst, float(np.max(np.abs(ours[present] - theirs[present]), initial=0.0)))
        if number % 6 == 5:  # one present value: the largest target value, in R as here
            assert np.nanmax(ours[:, -2]) == np.nanmax(target)
        kept = matrix[:, ~np.isnan(matrix).all(axis=0)]
        for suffix, ours_target in (
            ("dt", determine_target(kept)),
            ("dl", determine_target(kept, length)),
            ("d1_", determine_target(kept, 1)),
        ):
            theirs_target = read_matrix(tmp_path / f"{suffix}{number}.tsv")[:, 0]
            assert ours_target.shape == theirs_target.shape
            worst = max(worst, float(np.max(np.abs(ours_target - theirs_target))))
    assert worst <= TOLERANCE, f"largest difference from preprocessCore: {worst:.3g}"


def test_target_built_a_column_block_at_a_time_equals_the_whole(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    matrix = rng.gamma(2.0, 10.0, size=(500, 12)).round(1)
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    builder = QnTarget(rows=500)
    for start in range(0, 12, 5):
        builder.add(matrix[:, start : start + 5])
    write_matrix(tmp_path / "x.tsv", matrix)
    run_r(
        "suppressPackageStartupMessages(library(preprocessCore))\n"
        + R_WRITE
        + "x <- read_matrix('x.tsv')\n"
        "write_matrix(as.matrix(normalize.quantiles.determine.target(x)), 't.tsv')\n",
        tmp_path,
    )
    theirs = read_matrix(tmp_path / "t.tsv")[:, 0]
    assert np.max(np.abs(builder.target() - theirs)) <= TOLERANCE
    assert builder.samples == 12


def test_a_sample_without_values_is_left_out_of_the_target() -> None:
    matrix = np.array([[1.0, np.nan, 3.0], [2.0, np.nan, 5.0]])
    builder = QnTarget(rows=2)
    builder.add(matrix)
    assert builder.skipped_empty == 1
    assert builder.samples == 2
    assert builder.target().tolist() == [2.0, 3.5]
