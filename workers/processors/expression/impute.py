"""Missing values filled by iterative SVD, as fancyimpute's `IterativeSVD` fills them.

The anchor's compendia impute with `IterativeSVD(rank=10)` (fancyimpute's algorithm, through
the `fancySVD` package). The algorithm is short, so it is written here with numpy rather
than brought in with its dependencies:

1. missing values start at 0 (fancyimpute's `init_fill_method="zero"`);
2. each iteration reconstructs the matrix from its truncated SVD — rank 1, 2, 4, 8, then the
   full rank (fancyimpute's `gradual_rank_increase`), uncentred like scikit-learn's
   `TruncatedSVD` — and puts the reconstruction into the missing cells only;
3. it stops when the missing cells moved by less than `convergence_threshold` relative to
   their size (‖old − new‖ / ‖old‖), or after `max_iters` iterations.

Present values are never changed. The linear algebra runs on `threads` BLAS threads (one
unless told): OpenBLAS's own default, a thread per core that spins while it waits, was
measured 190× slower for these small SVDs on a machine whose cores other work shares. The
truncated SVD is exact (LAPACK) for matrices whose
smaller side is at most `EXACT_SVD_LIMIT`; larger ones use a randomised range finder with
power iterations (Halko et al., as scikit-learn's `randomized_svd`), seeded, so a run is
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

Matrix = NDArray[np.float64]
EXACT_SVD_LIMIT = 300
_OVERSAMPLES = 10
_POWER_ITERATIONS = 4


@dataclass(frozen=True)
class Imputed:
    """The filled matrix, how many values were filled and how many iterations it took."""

    values: Matrix
    filled: int
    iterations: int
    converged: bool


def _truncated_reconstruction(matrix: Matrix, rank: int, rng: np.random.Generator) -> Matrix:
    if min(matrix.shape) <= EXACT_SVD_LIMIT:
        left, singular, right = np.linalg.svd(matrix, full_matrices=False)
    else:
        sketch = matrix @ rng.standard_normal((matrix.shape[1], rank + _OVERSAMPLES))
        basis, _ = np.linalg.qr(sketch)
        for _ in range(_POWER_ITERATIONS):
            basis, _ = np.linalg.qr(matrix.T @ basis)
            basis, _ = np.linalg.qr(matrix @ basis)
        small_left, singular, right = np.linalg.svd(basis.T @ matrix, full_matrices=False)
        left = basis @ small_left
    reconstruction: Matrix = (left[:, :rank] * singular[:rank]) @ right[:rank]
    return reconstruction


def iterative_svd(
    matrix: Matrix,
    *,
    rank: int = 10,
    convergence_threshold: float = 1e-5,
    max_iters: int = 200,
    gradual_rank_increase: bool = True,
    seed: int = 0,
    threads: int = 1,
) -> Imputed:
    """`matrix` with its NaN cells filled from a rank-`rank` approximation."""
    with threadpool_limits(limits=threads, user_api="blas"):
        return _iterate(matrix, rank, convergence_threshold, max_iters, gradual_rank_increase, seed)


def _iterate(
    matrix: Matrix,
    rank: int,
    convergence_threshold: float,
    max_iters: int,
    gradual_rank_increase: bool,
    seed: int,
) -> Imputed:
    values = np.array(matrix, dtype=np.float64)
    missing = np.isnan(values)
    filled = int(missing.sum())
    if filled == 0 or values.size == 0:
        return Imputed(values, 0, 0, True)
    if missing.all():
        raise ValueError("nothing to impute from: every value is missing")
    values[missing] = 0.0
    rng = np.random.default_rng(seed)
    most = max(1, min(values.shape) - 1) if min(values.shape) > 1 else 1
    converged = False
    iteration = 0
    for iteration in range(1, max_iters + 1):
        current = min(2 ** (iteration - 1), rank) if gradual_rank_increase else rank
        reconstruction = _truncated_reconstruction(values, min(current, most), rng)
        old = values[missing]
        new = reconstruction[missing]
        old_norm = float(np.sqrt(np.sum(old**2)))
        change = float(np.sqrt(np.sum((old - new) ** 2)))
        converged = old_norm > 0 and change / old_norm < convergence_threshold
        values[missing] = new
        if converged:
            break
    return Imputed(values, filled, iteration, converged)
