"""Scaling per gene equals scikit-learn's scalers fitted as the anchor fits them (on the
transposed matrix: samples × genes), missing values, constant and empty genes included."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from workers.processors.expression.scaling import Scaling, scale_genes

PEERS = {
    Scaling.MINMAX: MinMaxScaler,
    Scaling.STANDARD: StandardScaler,
    Scaling.ROBUST: RobustScaler,
}


def _matrix(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.gamma(2.0, 30.0, size=(400, 37)).round(1)  # ties
    matrix[rng.random(matrix.shape) < 0.15] = np.nan
    matrix[0] = 5.0  # a constant gene
    matrix[1] = np.nan  # a gene with no value
    matrix[2, :] = np.nan
    matrix[2, 3] = 1.0  # one value
    matrix[3] = 1e-9 * np.arange(37)  # a spread too small to divide by
    matrix[4] = 1e6 + rng.random(37)  # large values, small spread
    return matrix


def _scikit_learn(matrix: np.ndarray, scaling: Scaling) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-missing gene
        scaler = PEERS[scaling](copy=True)
        return scaler.fit(matrix.T).transform(matrix.T).T


@pytest.mark.parametrize("scaling", list(PEERS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scaling_equals_scikit_learn(scaling: Scaling, seed: int) -> None:
    matrix = _matrix(seed)
    ours = scale_genes(matrix, scaling)
    theirs = _scikit_learn(matrix, scaling)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    present = ~np.isnan(ours)
    assert np.max(np.abs(ours[present] - theirs[present])) <= 1e-9


def test_scaling_a_block_of_genes_equals_scaling_the_whole() -> None:
    matrix = _matrix(4)
    for scaling in Scaling:
        whole = scale_genes(matrix, scaling)
        blocks = np.vstack(
            [scale_genes(matrix[start : start + 33], scaling) for start in range(0, 400, 33)]
        )
        assert np.array_equal(whole, blocks, equal_nan=True)


def test_no_scaling_returns_the_values_unchanged_and_not_the_same_array() -> None:
    matrix = _matrix(5)
    ours = scale_genes(matrix, Scaling.NONE)
    assert ours is not matrix and np.array_equal(ours, matrix, equal_nan=True)
