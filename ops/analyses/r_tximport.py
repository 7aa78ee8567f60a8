"""R's tximport on the same files, through `Rscript`: the reference our summary is held to.

Used by the equality test and by `inv bench.summarise`. The script times tximport() itself
(reading the files and summarising, R's start-up and package loading left out) and writes the
three gene matrices as TSV with 17 significant digits, so nothing is lost on the way back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from common.shell import run_command

R_SCRIPT = r"""
suppressPackageStartupMessages(library(tximport))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]; cfa <- args[2]; tx2gene_file <- args[3]; listing <- args[4]
runs <- read.delim(listing, header = FALSE, colClasses = "character")
files <- setNames(runs[[2]], runs[[1]])
tx2gene <- read.delim(tx2gene_file, header = FALSE, colClasses = "character")
seconds <- system.time(
  txi <- suppressMessages(tximport(files, type = "salmon", tx2gene = tx2gene, dropInfReps = TRUE,
                                   countsFromAbundance = cfa))
)[["elapsed"]]
for (m in c("counts", "abundance", "length")) {
  x <- txi[[m]]
  text <- matrix(sprintf("%.17g", x), nrow = nrow(x))
  lines <- c(paste(c("Gene", colnames(x)), collapse = "\t"),
             apply(cbind(rownames(x), text), 1, paste, collapse = "\t"))
  writeLines(lines, file.path(out, paste0("r_", m, ".tsv")))
}
writeLines(format(seconds, digits = 6), file.path(out, "r_seconds.txt"))
"""


@dataclass(frozen=True)
class RGeneMatrix:
    """What R's tximport returned, genes in R's order, and the seconds tximport() took."""

    genes: list[str]
    samples: list[str]
    counts: np.ndarray
    abundance: np.ndarray
    length: np.ndarray
    seconds: float


def run_r_tximport(
    quant_files: list[Path],
    samples: list[str],
    tx2gene_file: Path,
    out: Path,
    counts_from_abundance: str = "lengthScaledTPM",
) -> RGeneMatrix:
    """Run tximport in R on `quant_files` (named `samples`) and read its matrices back."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "tximport.R"
    script.write_text(R_SCRIPT)
    listing = out / "files.tsv"
    listing.write_text(
        "".join(f"{sample}\t{path}\n" for sample, path in zip(samples, quant_files, strict=True))
    )
    run_command(
        ["Rscript", "--vanilla", script, out, counts_from_abundance, tx2gene_file, listing],
        env={"TZ": "UTC"},
    )
    matrices = {}
    for name in ("counts", "abundance", "length"):
        frame = pl.read_csv(out / f"r_{name}.tsv", separator="\t", infer_schema_length=0)
        genes = frame["Gene"].to_list()
        columns = frame.columns[1:]
        matrices[name] = frame.select(columns).cast(pl.Float64).to_numpy()
    return RGeneMatrix(
        genes=genes,
        samples=columns,
        counts=matrices["counts"],
        abundance=matrices["abundance"],
        length=matrices["length"],
        seconds=float((out / "r_seconds.txt").read_text()),
    )
