"""Run a few lines of R (Rscript) on matrices passed through TSV files, for equality checks.

Missing values travel as R's `NA` (not `NaN`: preprocessCore treats only NA as missing), and
numbers in both directions with 17 significant digits, so nothing is lost on the way.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np


def write_matrix(path: Path, matrix: np.ndarray) -> None:
    lines = [
        "\t".join("NA" if np.isnan(value) else repr(float(value)) for value in row)
        for row in np.atleast_2d(matrix)
    ]
    path.write_text("\n".join(lines) + "\n")


def read_matrix(path: Path) -> np.ndarray:
    rows = [
        [np.nan if cell.strip() == "NA" else float(cell) for cell in line.split("\t")]
        for line in path.read_text().splitlines()
        if line
    ]
    return np.array(rows, dtype=np.float64)


def run_r(script: str, workdir: Path) -> None:
    """Run `script` with Rscript in `workdir`; raise with R's own message if it fails."""
    (workdir / "script.R").write_text(script)
    completed = subprocess.run(
        ["Rscript", "--vanilla", "script.R"], cwd=workdir, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise AssertionError(f"Rscript failed: {completed.stderr[-2000:]}")


R_WRITE = (
    "write_matrix <- function(m, path) write.table(format(m, digits = 17, trim = TRUE), path,"
    " sep = '\\t', quote = FALSE, row.names = FALSE, col.names = FALSE)\n"
    "read_matrix <- function(path) { m <- as.matrix(read.table(path, sep = '\\t',"
    " na.strings = 'NA', colClasses = 'numeric')); dimnames(m) <- NULL; m }\n"
)
