"""Scaling each gene across a group's samples: NONE, MINMAX, STANDARD or ROBUST.

The anchor's datasets are scaled with scikit-learn's scalers fitted on the transposed matrix
(samples × genes), so each gene is scaled over its own samples; this module computes the
same numbers per gene row, without scikit-learn at run time, so a caller can scale a block of
genes at a time with every sample of the group in it (memory grows with the block):

* MINMAX (`MinMaxScaler`): (x − min) / (max − min), to [0, 1].
* STANDARD (`StandardScaler`): (x − mean) / the population standard deviation (ddof 0).
* ROBUST (`RobustScaler`): (x − median) / (75th − 25th percentile, linear interpolation).

As in scikit-learn, missing values (NaN) are left out of the statistics and stay missing; a
gene whose spread is indistinguishable from zero is divided by 1 (MINMAX and ROBUST: a range
below 10 machine epsilons; STANDARD: a variance within the error bound of its computation,
scikit-learn's `_is_constant_feature`); a gene with no value stays all missing.
"""

from __future__ import annotations

import warnings
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]
_EPS = np.finfo(np.float64).eps


class Scaling(StrEnum):
    """How a dataset's genes are scaled across its samples."""

    NONE = "none"
    MINMAX = "minmax"
    STANDARD = "standard"
    ROBUST = "robust"


def _nonzero(scale: Matrix, constant: NDArray[np.bool_]) -> Matrix:
    return np.where(constant, 1.0, scale)


def scale_genes(block: Matrix, scaling: Scaling) -> Matrix:
    """`block` (genes × samples) with each gene (row) scaled across its samples."""
    data = np.asarray(block, dtype=np.float64)
    if scaling is Scaling.NONE:
        return data.copy()
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # All-missing genes: numpy warns and answers NaN, which is what they keep.
        warnings.simplefilter("ignore", RuntimeWarning)
        if scaling is Scaling.MINMAX:
            low = np.nanmin(data, axis=1, keepdims=True)
            spread = np.nanmax(data, axis=1, keepdims=True) - low
            factor = 1.0 / _nonzero(spread, spread < 10 * _EPS)
            result: Matrix = data * factor + (0.0 - low * factor)
            return result
        if scaling is Scaling.STANDARD:
            count = (~np.isnan(data)).sum(axis=1, keepdims=True).astype(np.float64)
            mean = np.nansum(data, axis=1, keepdims=True) / count
            variance = np.nansum((data - mean) ** 2, axis=1, keepdims=True) / count
            bound = count * _EPS * variance + (count * mean * _EPS) ** 2
            return (data - mean) / _nonzero(np.sqrt(variance), variance <= bound)
        center = np.nanmedian(data, axis=1, keepdims=True)
        low_q, high_q = np.nanpercentile(data, [25.0, 75.0], axis=1, keepdims=True)
        spread = high_q - low_q
        return (data - center) / _nonzero(spread, spread < 10 * _EPS)
