"""Gene-level matrices from salmon's `quant.sf` files: tximport's summary, in numpy.

An experiment's samples are quantified per transcript; people compare genes. This module does
what R's `tximport::tximport(files, type = "salmon", tx2gene = …, countsFromAbundance = …)`
(tximport 1.26) does, with no R at run time, and a test holds it equal to R on the same files:

- abundance: the TPM of a gene's transcripts, summed per sample;
- counts: their NumReads summed (`"no"`), or with `"lengthScaledTPM"` the gene's abundance
  times its length averaged over samples, scaled per sample back to that sample's library size
  (the column sum of the summed NumReads);
- length: the mean of the transcripts' effective lengths weighted by their TPM. Where a gene has
  no abundance in a sample that weighting is 0/0; tximport then takes the geometric mean of the
  gene's lengths in the samples where it has some, or, when it has none anywhere, the mean over
  its transcripts of their effective length averaged across samples. So does this module.

Transcripts absent from the transcript→gene table are dropped with a warning, as tximport does;
genes come out sorted by id (code point order — R sorts by its locale, so compare by name).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from common.errors import ValidationError, first_line

if TYPE_CHECKING:
    import polars as pl

log = logging.getLogger(__name__)

QUANT_COLUMNS = ("Name", "Length", "EffectiveLength", "TPM", "NumReads")
COUNTS_FROM_ABUNDANCE = ("lengthScaledTPM", "no")
MATRIX_FILES = {"counts": "gene_counts.tsv", "abundance": "gene_tpm.tsv"}
READ_THREADS = 4  # quant.sf files parsed at once


class MalformedQuant(ValidationError):
    """A quant.sf file lacks salmon's columns or holds a value that is not a finite number."""


class QuantMismatch(ValidationError):
    """The quantifications cannot be summarised together: different transcripts, no transcript
    in the transcript→gene table, or samples that do not match the files."""


@dataclass(frozen=True)
class QuantTable:
    """One sample's salmon quantification, one row per transcript, in the file's order."""

    names: list[str]
    length: np.ndarray
    effective_length: np.ndarray
    tpm: np.ndarray
    num_reads: np.ndarray


@dataclass(frozen=True)
class GeneMatrix:
    """An experiment at gene level: each array is genes × samples (float64)."""

    genes: list[str]
    samples: list[str]
    counts: np.ndarray
    abundance: np.ndarray
    length: np.ndarray


def read_quant_sf(path: Path) -> QuantTable:
    """Read salmon's quant.sf; a missing column or a non-numeric value names the file."""
    names, columns = _read_columns(path)
    return QuantTable(names.to_list(), *columns)


def read_quant_files(paths: Sequence[Path]) -> list[QuantTable]:
    """read_quant_sf for each of an experiment's files; files that list the same transcripts
    (as an experiment's do) share one `names` list, made once rather than once per file.

    The files are parsed READ_THREADS at a time (polars parses without holding the GIL; an
    experiment's hundreds of files, read one after another, were most of a summary's time:
    500 files of 40,000 transcripts in 2.6-2.8 s rather than 5.2-5.4 s). Results come back in
    the files' order, so a malformed file is named as when each is read alone."""
    with ThreadPoolExecutor(READ_THREADS) as pool:
        read = list(pool.map(_read_columns, paths))
    tables: list[QuantTable] = []
    previous: pl.Series | None = None
    for names, columns in read:
        if previous is not None and names.equals(previous):
            tables.append(QuantTable(tables[-1].names, *columns))
        else:
            tables.append(QuantTable(names.to_list(), *columns))
            previous = names
    return tables


def _read_columns(path: Path) -> tuple[pl.Series, list[np.ndarray]]:
    """The Name column, and Length, EffectiveLength, TPM and NumReads as float64 arrays."""
    # polars is imported by the summary alone: every worker loads this module, and most jobs
    # (salmon, QC, downloads) would pay its import at start for nothing.
    import polars as pl

    schema = {"Name": pl.String, **{column: pl.Float64 for column in QUANT_COLUMNS[1:]}}
    try:
        with path.open("rb") as handle:
            header = handle.readline().decode("utf-8").rstrip("\r\n").split("\t")
        missing = [column for column in QUANT_COLUMNS if column not in header]
        if missing:
            raise MalformedQuant(f"{path}: not a salmon quant.sf (no column {', '.join(missing)})")
        frame = pl.read_csv(
            path,
            separator="\t",
            columns=list(QUANT_COLUMNS),
            schema_overrides=schema,
            quote_char=None,
        )
    except MalformedQuant:
        raise
    except UnicodeDecodeError as exc:
        raise MalformedQuant(f"{path}: not a salmon quant.sf (not UTF-8 text)") from exc
    except OSError as exc:
        raise MalformedQuant(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except pl.exceptions.PolarsError as exc:
        detail = first_line(exc, "unreadable", limit=120)
        raise MalformedQuant(f"{path}: not a salmon quant.sf ({detail})") from exc
    for name in QUANT_COLUMNS:
        if frame[name].null_count():
            row = int(frame[name].is_null().arg_max() or 0) + 2  # 1-based, after the header
            raise MalformedQuant(f"{path}: line {row}: no {name} (a short row?)")
    columns = [frame[name].to_numpy() for name in QUANT_COLUMNS[1:]]
    for name, values in zip(QUANT_COLUMNS[1:], columns, strict=True):
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad)) + 2
            raise MalformedQuant(f"{path}: line {row}: {name} is not a finite number")
    return frame["Name"], columns


def summarise_to_genes(
    quants: Sequence[QuantTable],
    samples: Sequence[str],
    tx2gene: Mapping[str, str],
    counts_from_abundance: str = "lengthScaledTPM",
) -> GeneMatrix:
    """tximport's gene-level summary of `quants` (one per sample, same transcripts in the same
    order, as tximport requires), with `counts_from_abundance` "lengthScaledTPM" or "no"."""
    check_counts_from_abundance(counts_from_abundance)
    _check_samples(quants, samples)
    names = quants[0].names
    for sample, quant in zip(samples[1:], quants[1:], strict=True):
        if quant.names is not names and quant.names != names:
            raise QuantMismatch(
                f"sample {sample}: its transcripts differ from sample {samples[0]}'s "
                "(quantified against another index?)"
            )
    genes_of = [tx2gene.get(name) for name in names]
    genes = sorted({gene for gene in genes_of if gene is not None})
    if not genes:
        raise QuantMismatch(
            "none of the quantified transcripts is in the transcript→gene table "
            f"(e.g. {', '.join(names[:3])}); is it from the same annotation?"
        )
    # A transcript's gene as a bin number; those the table lacks go to one bin past the last
    # gene, cut off afterwards. bincount adds each gene's transcripts in file order, as R's
    # rowsum does.
    code_of = {gene: code for code, gene in enumerate(genes)}
    dropped_bin = len(genes)
    codes = np.fromiter(
        (dropped_bin if gene is None else code_of[gene] for gene in genes_of),
        dtype=np.int64,
        count=len(names),
    )
    dropped = int((codes == dropped_bin).sum())
    if dropped:
        log.warning("transcripts missing from tx2gene: %d (dropped)", dropped)
    bins = len(genes) + 1

    def per_gene(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=bins)[: len(genes)]

    shape = (len(genes), len(quants))
    # Column-major: each sample is written as one contiguous column.
    abundance, counts, weighted = (np.empty(shape, order="F") for _ in range(3))
    length_sum = np.zeros(len(names))
    for column, quant in enumerate(quants):
        abundance[:, column] = per_gene(quant.tpm)
        counts[:, column] = per_gene(quant.num_reads)
        weighted[:, column] = per_gene(quant.tpm * quant.effective_length)
        length_sum += quant.effective_length
    with np.errstate(invalid="ignore", divide="ignore"):
        length = weighted / abundance
    transcripts = np.bincount(codes, minlength=bins)[: len(genes)]
    mean_length = per_gene(length_sum / len(quants)) / transcripts
    length = _replace_missing_length(length, mean_length)
    if counts_from_abundance == "lengthScaledTPM":
        counts = _length_scaled_tpm(counts, abundance, length)
    return GeneMatrix(
        genes=genes, samples=list(samples), counts=counts, abundance=abundance, length=length
    )


def check_counts_from_abundance(value: str) -> None:
    """Refuse a countsFromAbundance this module does not make."""
    if value not in COUNTS_FROM_ABUNDANCE:
        raise ValidationError(
            f"counts from abundance must be {' or '.join(COUNTS_FROM_ABUNDANCE)}, "
            f"not {value[:40]!r}"
        )


def _check_samples(quants: Sequence[QuantTable], samples: Sequence[str]) -> None:
    if not quants:
        raise QuantMismatch("no quantification to summarise")
    if len(samples) != len(quants):
        raise QuantMismatch(f"{len(samples)} sample names for {len(quants)} quantifications")
    seen: set[str] = set()
    for sample in samples:
        if sample in seen:
            raise QuantMismatch(f"sample {sample} is named twice")
        if not sample or any(c in sample for c in "\t\r\n"):
            raise QuantMismatch(f"sample name {sample!r} cannot head a column")
        seen.add(sample)


def _replace_missing_length(length: np.ndarray, mean_length: np.ndarray) -> np.ndarray:
    """tximport's replaceMissingLength: a gene's 0/0 lengths become the geometric mean of its
    other samples' lengths, or its transcripts' mean length where it has none."""
    missing = np.isnan(length)
    if not missing.any():
        return length
    present = (~missing).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_sum = np.where(missing, 0.0, np.log(np.where(missing, 1.0, length))).sum(axis=1)
        fill = np.where(present > 0, np.exp(log_sum / present), mean_length)
    return np.where(missing, fill[:, np.newaxis], length)


def _length_scaled_tpm(counts: np.ndarray, abundance: np.ndarray, length: np.ndarray) -> np.ndarray:
    """tximport's makeCountsFromAbundance(…, "lengthScaledTPM")."""
    library_size = counts.sum(axis=0)
    scaled = abundance * length.mean(axis=1)[:, np.newaxis]
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = scaled * (library_size / scaled.sum(axis=0))
    return result


def write_gene_matrix(matrix: GeneMatrix, folder: Path) -> list[Path]:
    """Write gene_counts.tsv and gene_tpm.tsv (first column "Gene", one column per sample,
    numbers that read back exactly). Each is written beside its name and renamed into place,
    so it appears whole or not at all, and nothing partial is left when writing fails."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for field, name in MATRIX_FILES.items():
        values: np.ndarray = getattr(matrix, field)
        frame = pl.DataFrame(
            {"Gene": matrix.genes}
            | {sample: values[:, i] for i, sample in enumerate(matrix.samples)}
        )
        path = folder / name
        partial = folder / f".{name}.partial"
        try:
            frame.write_csv(partial, separator="\t", quote_style="never", line_terminator="\n")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        written.append(path)
    return written
