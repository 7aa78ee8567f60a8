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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from common.errors import ValidationError

log = logging.getLogger(__name__)

QUANT_COLUMNS = ("Name", "Length", "EffectiveLength", "TPM", "NumReads")
COUNTS_FROM_ABUNDANCE = ("lengthScaledTPM", "no")
MATRIX_FILES = {"counts": "gene_counts.tsv", "abundance": "gene_tpm.tsv"}


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
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else "unreadable"
        raise MalformedQuant(f"{path}: not a salmon quant.sf ({detail})") from exc
    for name in QUANT_COLUMNS:
        if frame[name].null_count():
            row = int(frame[name].is_null().arg_max() or 0) + 2  # 1-based, after the header
            raise MalformedQuant(f"{path}: line {row}: no {name} (a short row?)")
    columns = {name: frame[name].to_numpy().astype(np.float64) for name in QUANT_COLUMNS[1:]}
    for name, values in columns.items():
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad)) + 2
            raise MalformedQuant(f"{path}: line {row}: {name} is not a finite number")
    names = frame["Name"]
    return QuantTable(
        names=names.to_list(),
        length=columns["Length"],
        effective_length=columns["EffectiveLength"],
        tpm=columns["TPM"],
        num_reads=columns["NumReads"],
    )


def summarise_to_genes(
    quants: Sequence[QuantTable],
    samples: Sequence[str],
    tx2gene: Mapping[str, str],
    counts_from_abundance: str = "lengthScaledTPM",
) -> GeneMatrix:
    """tximport's gene-level summary of `quants` (one per sample, same transcripts in the same
    order, as tximport requires), with `counts_from_abundance` "lengthScaledTPM" or "no"."""
    if counts_from_abundance not in COUNTS_FROM_ABUNDANCE:
        raise ValidationError(
            f"counts_from_abundance must be one of {', '.join(COUNTS_FROM_ABUNDANCE)}, "
            f"not {counts_from_abundance!r}"
        )
    _check_samples(quants, samples)
    names = quants[0].names
    for sample, quant in zip(samples[1:], quants[1:], strict=True):
        if quant.names != names:
            raise QuantMismatch(
                f"sample {sample}: its transcripts differ from sample {samples[0]}'s "
                "(quantified against another index?)"
            )
    genes_of = [tx2gene.get(name) for name in names]
    kept = np.fromiter((gene is not None for gene in genes_of), dtype=bool, count=len(names))
    if not kept.any():
        raise QuantMismatch(
            "none of the quantified transcripts is in the transcript→gene table "
            f"(e.g. {', '.join(names[:3])}); is it from the same annotation?"
        )
    dropped = len(names) - int(kept.sum())
    if dropped:
        log.warning("transcripts missing from tx2gene: %d (dropped)", dropped)
    kept_genes = [gene for gene in genes_of if gene is not None]
    genes = sorted(set(kept_genes))
    code_of = {gene: code for code, gene in enumerate(genes)}
    codes = np.fromiter((code_of[g] for g in kept_genes), dtype=np.int64, count=len(kept_genes))
    # Rows sorted by gene, stably, so each gene's transcripts are summed in file order (R's
    # rowsum order) by one reduceat per matrix.
    order = np.flatnonzero(kept)[np.argsort(codes, kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(np.sort(codes, kind="stable")) != 0])
    transcripts = np.bincount(codes, minlength=len(genes)).astype(np.float64)

    def stacked(field: str) -> np.ndarray:
        return np.stack([getattr(quant, field)[order] for quant in quants], axis=1)

    tpm = stacked("tpm")
    effective_length = stacked("effective_length")
    abundance = np.add.reduceat(tpm, starts, axis=0)
    counts = np.add.reduceat(stacked("num_reads"), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        length = np.add.reduceat(tpm * effective_length, starts, axis=0) / abundance
    mean_length = np.add.reduceat(effective_length.mean(axis=1), starts) / transcripts
    length = _replace_missing_length(length, mean_length)
    if counts_from_abundance == "lengthScaledTPM":
        counts = _length_scaled_tpm(counts, abundance, length)
    return GeneMatrix(
        genes=genes, samples=list(samples), counts=counts, abundance=abundance, length=length
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
    length = length.copy()
    rows = np.flatnonzero(missing.any(axis=1))
    for row in rows:
        gaps = missing[row]
        if gaps.all():
            length[row, :] = mean_length[row]
        else:
            length[row, gaps] = np.exp(np.mean(np.log(length[row, ~gaps])))
    return length


def _length_scaled_tpm(counts: np.ndarray, abundance: np.ndarray, length: np.ndarray) -> np.ndarray:
    """tximport's makeCountsFromAbundance(…, "lengthScaledTPM")."""
    library_size = counts.sum(axis=0)
    scaled = abundance * length.mean(axis=1)[:, np.newaxis]
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = scaled * (library_size / scaled.sum(axis=0))
    return result


def write_gene_matrix(matrix: GeneMatrix, folder: Path) -> list[Path]:
    """Write gene_counts.tsv and gene_tpm.tsv (first column "Gene", one column per sample,
    numbers that read back exactly); each file appears whole or not at all."""
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
        frame.write_csv(partial, separator="\t", quote_style="never", line_terminator="\n")
        os.replace(partial, path)
        written.append(path)
    return written
