"""Quantile normalisation to a target, and the target itself, as preprocessCore computes them.

`normalize_to_target` is `preprocessCore::normalize.quantiles.use.target` and `QnTarget`
is `preprocessCore::normalize.quantiles.determine.target`, rule for rule (read from
preprocessCore's `src/qnorm.c`), so a dataset normalised here equals one normalised in R:

* Missing values (NaN here, R's NA there) stay missing and take no part: a column is
  normalised on its present values alone.
* Ties share the mean of their ranks (R's `rank`). With a target as long as the column and no
  value missing, a value of rank r takes target[r] (1-based), and a tie whose mean rank ends
  in .5 takes the midpoint of the two target values either side — not the mean over the tie.
* Otherwise (values missing, or a target of another length) a value's place is its sample
  percentile (rank − 1) / (n − 1), mapped onto the target as 1 + (T − 1)·p and interpolated
  linearly between neighbours (quantile "type 7"), with preprocessCore's snapping of indices
  within 4 machine epsilons of a whole number. A column with a single present value is mapped
  to the largest target value, as preprocessCore does on x86-64 (its percentile is 0/0).
* The target is sorted and its missing values dropped before use.
* The target of a matrix is the mean over samples of each sample's sorted values; a sample
  with values missing is first stretched to the full length by the same interpolation. A
  target of another length is then resampled the same way.

Where preprocessCore's behaviour is undefined this module differs on purpose: a sample with
no value at all is left out of the target (preprocessCore reads memory it never wrote), and
its normalised column stays all missing (as in R).

Both work on blocks of columns, so a caller streams a matrix through them column block by
column block: memory grows with one block and the target, not with the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]
# preprocessCore's `4*DOUBLE_EPS`: an index this close to a whole number is that number.
_SNAP = 4 * np.finfo(np.float64).eps


def sorted_target(target: NDArray[np.float64]) -> Matrix:
    """The target as preprocessCore uses it: missing values dropped, ascending."""
    values = np.asarray(target, dtype=np.float64).ravel()
    values = np.sort(values[~np.isnan(values)])
    if values.size == 0:
        raise ValueError("the quantile normalisation target has no values")
    return values


def _interpolate(
    lookup: Callable[[NDArray[np.int64]], Matrix],
    lengths: NDArray[np.int64],
    position: Matrix,
    bound: int,
) -> Matrix:
    """preprocessCore's quantile estimate: sorted values read at 1-based fractional positions.

    `lookup(i)` gives the values at 1-based indices `i` (clipped to the values there are),
    column by column; `lengths[j]` is how many values column j has and `bound` the length
    preprocessCore's range check compares an index with.
    """
    with np.errstate(invalid="ignore"):
        floor = np.floor(position + _SNAP)
        fraction = position - floor
        fraction[np.abs(fraction) <= _SNAP] = 0.0
        whole = np.where(np.isnan(floor), -1, floor).astype(np.int64)
    lower = lookup(whole)
    on_a_value = fraction == 0.0
    inside = (whole < bound) & (whole > 0)
    result = np.where(on_a_value, lower, (1.0 - fraction) * lower + fraction * lookup(whole + 1))
    outside = ~on_a_value & ~inside
    if outside.any():
        # A NaN position (one present value: 0/0 in C) converts to a huge index there.
        high = outside & ((whole >= bound) | np.isnan(floor))
        last = lookup(np.broadcast_to(lengths, position.shape).astype(np.int64))
        result = np.where(high, last, np.where(outside, lookup(np.ones_like(whole)), result))
    return result


def normalize_to_target(block: Matrix, target: NDArray[np.float64]) -> Matrix:
    """`normalize.quantiles.use.target(block, target)`: each column of `block` (genes × samples,
    NaN for missing) given the distribution of `target`. Returns a new array."""
    data = np.asarray(block, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError("quantile normalisation needs a matrix (genes × samples)")
    goal = sorted_target(target)
    # One sample at a time, contiguous: sorting and finding ties along a row is cheap, and
    # each distinct value is looked up once however many samples' values tie with it.
    samples = np.ascontiguousarray(data.T)
    result = np.full_like(samples, np.nan)
    for column, normalised in zip(samples, result, strict=True):
        present = np.flatnonzero(~np.isnan(column))
        if present.size:
            values, order, sizes = _ranked_values(column[present], goal, data.shape[0])
            normalised[present[order]] = np.repeat(values, sizes)
    return np.ascontiguousarray(result.T)


def _ranked_values(
    values: NDArray[np.float64], goal: Matrix, rows: int
) -> tuple[Matrix, NDArray[np.intp], NDArray[np.intp]]:
    """For one sample's present values: each distinct value's normalised value (ascending),
    the order that sorts the values, and how many values each distinct value stands for."""
    count = values.size
    size = goal.size
    order = np.argsort(values)
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], count) - 1
    ranks = (starts + ends + 2) / 2.0  # 1-based; a tie shares the mean of its ranks

    def in_goal(one_based: NDArray[np.int64]) -> Matrix:
        picked: Matrix = goal[np.clip(one_based - 1, 0, size - 1)]
        return picked

    if count == rows == size:  # preprocessCore's exact branch
        whole = np.floor(ranks).astype(np.int64)
        below = in_goal(whole)
        normalised = np.where(ranks - whole > 0.4, 0.5 * (below + in_goal(whole + 1)), below)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            percentile = (ranks - 1.0) / np.float64(count - 1)
        position = 1.0 + (float(size) - 1.0) * percentile
        normalised = _interpolate(in_goal, np.array([size]), position, bound=size)
    return normalised, order, ends - starts + 1


@dataclass
class QnTarget:
    """The quantile-normalisation target of samples added a column block at a time.

    `rows` is the length every sample is stretched to (the matrix's number of genes, as in
    `normalize.quantiles.determine.target`); a sample may have fewer present values.
    """

    rows: int
    _sums: Matrix = field(init=False, repr=False)
    samples: int = field(init=False, default=0)
    skipped_empty: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.rows < 1:
            raise ValueError("a quantile normalisation target needs at least one row")
        self._sums = np.zeros(self.rows, dtype=np.float64)

    def add(self, block: Matrix) -> None:
        """Add the samples in `block`'s columns (their values in any order, NaN for missing,
        at most `rows` of them)."""
        data = np.asarray(block, dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.shape[0] > self.rows:
            raise ValueError(f"a sample has {data.shape[0]} values, the target only {self.rows}")
        present = (~np.isnan(data)).sum(axis=0).astype(np.int64)
        empty = present == 0
        self.skipped_empty += int(empty.sum())
        data = data[:, ~empty]
        present = present[~empty]
        if data.shape[1] == 0:
            return
        sorted_block = np.sort(data, axis=0)
        if data.shape[0] < self.rows:
            sorted_block = np.vstack(
                [sorted_block, np.full((self.rows - data.shape[0], data.shape[1]), np.nan)]
            )
        full = present == self.rows
        if full.all():
            self._sums += sorted_block.sum(axis=1)
        else:
            self._sums += sorted_block[:, full].sum(axis=1)
            partial = sorted_block[:, ~full]
            self._sums += _stretch(partial, present[~full], self.rows).sum(axis=1)
        self.samples += data.shape[1]

    def target(self, length: int | None = None) -> Matrix:
        """The mean of the sorted samples, resampled to `length` values if given."""
        if self.samples == 0:
            raise ValueError("no sample with values was added to the target")
        means = self._sums / float(self.samples)
        if length is None or length == self.rows:
            return means
        if length < 1:
            raise ValueError("a target needs a positive length")
        return _stretch(means[:, None], np.array([self.rows], dtype=np.int64), length)[:, 0]


def _stretch(sorted_columns: Matrix, present: NDArray[np.int64], length: int) -> Matrix:
    """Each column's first present[j] sorted values read at `length` evenly spaced quantiles."""
    # One value asked for: 0/0 in preprocessCore as here, which reads the last value.
    with np.errstate(invalid="ignore", divide="ignore"):
        percentile = np.arange(length, dtype=np.float64) / np.float64(length - 1)
    position = 1.0 + (present[None, :].astype(np.float64) - 1.0) * percentile[:, None]
    rows, columns = sorted_columns.shape
    column_index = np.arange(columns)[None, :]

    def in_columns(one_based: NDArray[np.int64]) -> Matrix:
        picked: Matrix = sorted_columns[np.clip(one_based - 1, 0, rows - 1), column_index]
        return picked

    return _interpolate(in_columns, present, position, bound=rows)


def determine_target(matrix: Matrix, length: int | None = None) -> Matrix:
    """`normalize.quantiles.determine.target(matrix, length)` in one call."""
    data = np.asarray(matrix, dtype=np.float64)
    builder = QnTarget(rows=data.shape[0])
    builder.add(data)
    return builder.target(length)
