"""Quantile normalisation by hand-checked examples (its equality with preprocessCore itself is
checked in tests/integration/expression/test_quantile_against_r.py)."""

from __future__ import annotations

import numpy as np
import pytest

from workers.processors.expression.quantile import QnTarget, normalize_to_target


def test_a_tie_of_two_takes_the_midpoint_and_a_tie_of_three_the_middle_value() -> None:
    target = np.array([40.0, 10.0, 30.0, 20.0, 50.0, 60.0, 70.0])  # sorted before use
    column = np.array([[5.0], [1.0], [1.0], [2.0], [3.0], [3.0], [3.0]])
    # ranks: 1 and 1 share 1.5; 2 is 3; the three 3s share 5; 5 is 7
    assert normalize_to_target(column, target)[:, 0].tolist() == [
        70.0, 15.0, 15.0, 30.0, 50.0, 50.0, 50.0,
    ]  # fmt: skip


def test_missing_values_stay_missing_and_the_rest_are_interpolated_on_the_target() -> None:
    column = np.array([[3.0], [np.nan], [1.0], [2.0]])
    target = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    # three present values at percentiles 0, 0.5, 1 of a five-value target
    result = normalize_to_target(column, target)[:, 0]
    assert np.isnan(result[1])
    assert result[[0, 2, 3]].tolist() == [40.0, 0.0, 20.0]


def test_normalising_column_blocks_equals_normalising_the_whole() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.integers(0, 9, size=(300, 10)).astype(float)
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    target = rng.gamma(2.0, 3.0, size=280)
    whole = normalize_to_target(matrix, target)
    blocks = np.hstack([normalize_to_target(matrix[:, i : i + 3], target) for i in range(0, 10, 3)])
    assert np.array_equal(whole, blocks, equal_nan=True)


def test_a_target_needs_values_and_a_sample_no_more_values_than_its_rows() -> None:
    with pytest.raises(ValueError, match="target has no values"):
        normalize_to_target(np.ones((2, 2)), np.array([np.nan]))
    builder = QnTarget(rows=2)
    with pytest.raises(ValueError, match="a sample has 3 values"):
        builder.add(np.ones((3, 1)))
    with pytest.raises(ValueError, match="no sample with values"):
        builder.target()
