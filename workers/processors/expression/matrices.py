"""Gene matrices as TSV files: reading one experiment's, cleaning its gene ids, writing blocks.

A gene matrix file is tab-separated with a header; its first column is `Gene` (the gene id)
and every other column is one sample's values (genes × samples). Missing values are empty
cells or `NA`. Reading cleans the ids as the anchor's datasets do: a version suffix is
stripped (`ENSG00000000003.15` → `ENSG00000000003`) and rows whose ids then coincide are
averaged, each sample over its present values. Writing puts `Gene` first and an empty cell
for a missing value (what pandas writes, and what R's `read.table` reads as NA); numbers are
written with the shortest text that reads back as the same double, so nothing is lost.

polars parses and formats the text (in native code, on every core); numpy does the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from common.errors import ValidationError, first_line

GENE_COLUMN = "Gene"
MISSING = ("", "NA")
_VERSION = re.compile(r"\.\d+$", re.ASCII)

Matrix = NDArray[np.float64]
Names = NDArray[np.str_]

if TYPE_CHECKING:  # polars is imported when a matrix is read or written
    import polars as pl


@dataclass(frozen=True)
class GeneMatrix:
    """Some samples' values over some genes: values[i, j] is gene i in sample j; the genes
    are distinct and sorted."""

    genes: Names
    samples: list[str]
    values: Matrix


def read_header(path: Path) -> list[str]:
    """The column names of a gene matrix file; refuses a file that is not one."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(f"{path}: cannot read it as a gene matrix ({error})") from error
    names = first.split("\t")
    if not first or names[0] != GENE_COLUMN:
        raise ValidationError(f"{path}: a gene matrix starts with a '{GENE_COLUMN}' column")
    if len(set(names)) != len(names):
        raise ValidationError(f"{path}: a column name appears twice")
    return names


def _read(path: Path, columns: list[str]) -> pl.DataFrame:
    import polars as pl

    header = read_header(path)
    schema = {name: (pl.String if name == GENE_COLUMN else pl.Float64) for name in header}
    try:
        return pl.read_csv(
            path,
            separator="\t",
            schema=schema,
            columns=columns,
            null_values=list(MISSING),
            quote_char=None,
        )
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ValidationError(f"{path}: not a gene matrix ({first_line(error, '')})") from error


def _gene_column(path: Path, frame: pl.DataFrame) -> Names:
    """The gene ids, cleaned: whitespace trimmed, a trailing version (`.15`) dropped."""
    genes = frame.get_column(GENE_COLUMN)
    if genes.null_count():
        raise ValidationError(f"{path}: a row has no gene id")
    cleaned = genes.str.strip_chars().str.replace(_VERSION.pattern, "")
    return cleaned.to_numpy().astype(np.str_)


def read_gene_matrix(path: Path, samples: list[str] | None = None) -> GeneMatrix:
    """The matrix in `path` (only the `samples` columns if given), its gene ids cleaned and
    sorted, duplicates averaged."""
    header = read_header(path)
    wanted = header[1:] if samples is None else samples
    frame = _read(path, [GENE_COLUMN, *wanted])
    genes = _gene_column(path, frame)
    values = (
        frame.select(wanted).to_numpy().astype(np.float64, copy=False)
        if wanted
        else np.empty((frame.height, 0))
    )
    cleaned, averaged = average_duplicates(genes, values)
    return GeneMatrix(cleaned, list(wanted), averaged)


def average_duplicates(genes: Names, values: Matrix) -> tuple[Names, Matrix]:
    """One row per distinct gene, sorted by gene: duplicates averaged over present values."""
    distinct, inverse = np.unique(genes, return_inverse=True)
    if distinct.size == genes.size:
        order = np.argsort(inverse)
        return distinct, values[order]
    present = ~np.isnan(values)
    sums = np.zeros((distinct.size, values.shape[1]))
    counts = np.zeros((distinct.size, values.shape[1]))
    np.add.at(sums, inverse, np.where(present, values, 0.0))
    np.add.at(counts, inverse, present)
    with np.errstate(invalid="ignore"):
        averaged = sums / counts  # no present value: 0/0, missing
    return distinct, averaged


def write_block(
    handle: IO[bytes], genes: Names, samples: list[str], block: Matrix, *, header: bool
) -> None:
    """Append rows (genes × samples) to an open TSV, with the header line if `header`."""
    import polars as pl

    frame = pl.DataFrame({GENE_COLUMN: genes.tolist()}, schema={GENE_COLUMN: pl.String}).hstack(
        pl.DataFrame(block, schema=samples, orient="row", nan_to_null=True)
    )
    frame.write_csv(handle, separator="\t", null_value="", include_header=header)
