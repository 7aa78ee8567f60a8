"""R's own `affy::rma` on CEL files, run by hand through `Rscript`: the reference the affy
application is held to, and the peer of `inv bench.affy`.

The chip definition comes straight from the CDF file (makecdfenv's `make.cdf.env`), or from a
saved environment (`.rds`) as the platform stores it; either is put where affy looks first,
under the chip's name. Then `ReadAffy` and `rma` with affy's defaults, and the probe-set values
written with 17 significant digits. `seconds` is the time R spent in ReadAffy and rma.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.shell import run_command, values
from workers.processors.affy_r import (
    R_ENVIRONMENT_ONLY,
    R_QUIET,
    ProbeSetValues,
    read_probe_set_values,
)

R_SCRIPT = (
    R_QUIET
    + R_ENVIRONMENT_ONLY
    + r"""
suppressPackageStartupMessages(library(makecdfenv))
args <- commandArgs(trailingOnly = TRUE)
files <- args[4:length(args)]
definition <- args[2]
env <- if (grepl("[.]rds$", definition)) readRDS(definition) else
  make.cdf.env(basename(definition), cdf.path = dirname(definition), verbose = FALSE)
assign(args[3], env, envir = .GlobalEnv)
samples <- sub("[.]CEL([.]gz)?$", "", basename(files), ignore.case = TRUE)
seconds <- system.time({
  batch <- ReadAffy(filenames = files, sampleNames = samples, verbose = FALSE)
  x <- exprs(rma(batch, verbose = FALSE))
})[["elapsed"]]
text <- matrix(sprintf("%.17g", x), nrow = nrow(x))
writeLines(c(paste(c("ProbeSet", colnames(x)), collapse = "\t"),
             apply(cbind(rownames(x), text), 1, paste, collapse = "\t")), args[1])
writeLines(format(seconds, digits = 6), paste0(args[1], ".seconds"))
"""
)


@dataclass(frozen=True)
class ReferenceRma:
    """R's probe-set values (samples named after their files) and its seconds in rma."""

    values: ProbeSetValues
    seconds: float


def run_r_rma(definition: Path, chip: str, cel_files: list[Path], out: Path) -> ReferenceRma:
    """affy::rma in R of `cel_files` (chip `chip`), its definition a CDF file or saved `.rds`."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "reference_rma.R"
    script.write_text(R_SCRIPT)
    result = out / "reference_rma.tsv"
    run_command(
        ["Rscript", "--vanilla", script, *values(result, definition, chip, *cel_files)],
        env={"TZ": "UTC"},
    )
    seconds = float(Path(f"{result}.seconds").read_text())
    return ReferenceRma(read_probe_set_values(result), seconds)
