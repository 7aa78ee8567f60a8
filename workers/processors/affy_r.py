"""R's affy and affyio, run through `Rscript`: chip definitions, CEL headers, RMA.

Two scripts:

- `build_cdf_env` (one `Rscript` run): makecdfenv's `make.cdf.env` on a CDF file (text or
  binary), saved as an RDS file. The chip definition is kept as that saved environment rather
  than as an installed package: a package made by `make.cdf.package` depends on AnnotationDbi,
  which this platform does not install, and affy finds an environment named after the chip (as
  CEL headers name it) in R's global environment first. The chip's name is the CDF file's name
  without `.CDF`, as Affymetrix names them and as makecdfenv names its packages.
- an `AffySession`: one R process that loads affy once and answers two commands on its
  standard input. `headers`: each CEL file's chip (`affyio::read.celfile.header`, which reads
  the header only); a file whose header cannot be read is named with affyio's reason. `rma`:
  `affy::rma` (background correction, quantile normalisation, median polish) of one chip's
  CEL files, its probe-set values (log2) written with 17 significant digits. The files are
  read once, by `ReadAffy`; only when that fails is each read on its own to find the ones that
  cannot be (a file cut short past its header), which are named with affyio's reason and left
  out, and the others read again.

affy looks for a chip definition it lacks on Bioconductor's web site; these scripts allow it
only the global environment, so a missing chip is an error here and no request leaves the
machine.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import CommandError, ValidationError, first_line
from common.shell import last_lines, run_command, start_dialogue, values

if TYPE_CHECKING:
    import numpy as np


R_QUIET = "suppressPackageStartupMessages({library(affy)})\n"
R_ENVIRONMENT_ONLY = (
    "opts <- getOption('BioC'); opts$affy$probesloc <- list(list(what = 'environment',"
    " where = .GlobalEnv)); options(BioC = opts)\n"
)

BUILD_CDF_ENV = (
    R_QUIET
    + r"""
suppressPackageStartupMessages(library(makecdfenv))
args <- commandArgs(trailingOnly = TRUE)
cdf <- args[1]; out <- args[2]
env <- make.cdf.env(basename(cdf), cdf.path = dirname(cdf), verbose = FALSE)
saveRDS(env, file.path(out, "cdfenv.rds"))
writeLines(ls(env), file.path(out, "probe_sets.txt"))
"""
)

R_REASON = 'reason <- function(e) gsub("[\\t\\r\\n]+", " ", trimws(conditionMessage(e)))\n'

# One R process per experiment: affy loads once, then each line on standard input is a command
# (tab-separated: `headers LISTING OUT` or `rma LISTING OUT CHIP CDF_ENV UNREADABLE`), answered
# by one line on standard output, `done` or `error<TAB>reason`; end of input ends it.
AFFY_SESSION = (
    R_QUIET
    + R_ENVIRONMENT_ONLY
    + R_REASON
    + r"""
listing <- function(path) read.delim(path, header = FALSE, colClasses = "character")
headers <- function(args) {
  runs <- listing(args[1])
  rows <- sapply(seq_len(nrow(runs)), function(i) tryCatch(
    paste(runs[i, 1], affyio::read.celfile.header(runs[i, 2])$cdfName, "", sep = "\t"),
    error = function(e) paste(runs[i, 1], "", reason(e), sep = "\t")))
  writeLines(rows, args[2])
}
rma_of <- function(args) {
  runs <- listing(args[1])
  assign(args[3], readRDS(args[4]), envir = .GlobalEnv)
  read_all <- function(r) ReadAffy(filenames = r[[2]], sampleNames = r[[1]], verbose = FALSE)
  batch <- tryCatch(read_all(runs), error = function(e) NULL)
  if (is.null(batch)) {
    problems <- sapply(runs[[2]], function(f) tryCatch({
      affyio::read.celfile(f, intensity.means.only = TRUE); ""
    }, error = reason), USE.NAMES = FALSE)
    unreadable <- nzchar(problems)
    writeLines(paste(runs[[1]][unreadable], problems[unreadable], sep = "\t"), args[5])
    if (all(unreadable)) return(invisible())
    batch <- read_all(runs[!unreadable, ])
  } else writeLines(character(0), args[5])
  x <- exprs(rma(batch, verbose = FALSE))
  text <- matrix(sprintf("%.17g", x), nrow = nrow(x))
  writeLines(c(paste(c("ProbeSet", colnames(x)), collapse = "\t"),
               apply(cbind(rownames(x), text), 1, paste, collapse = "\t")), args[2])
}
commands <- list(headers = headers, rma = rma_of)
input <- file("stdin")
open(input)
repeat {
  line <- readLines(input, n = 1)
  if (length(line) == 0) break
  args <- strsplit(line, "\t", fixed = TRUE)[[1]]
  answer <- tryCatch({
    commands[[args[1]]](args[-1])
    "done"
  }, error = function(e) paste("error", reason(e), sep = "\t"))
  cat(answer, "\n", sep = "")
  flush(stdout())
}
"""
)


class UnreadableChipDefinition(ValidationError):
    """makecdfenv could not make a chip definition of the file."""


@dataclass(frozen=True)
class CelHeader:
    """One CEL file's chip as affyio reads it from its header, or why it could not be read."""

    sample: str
    chip: str
    problem: str


@dataclass(frozen=True)
class ProbeSetValues:
    """RMA's log2 values: probe sets × samples."""

    probe_sets: list[str]
    samples: list[str]
    values: np.ndarray


@dataclass(frozen=True)
class RmaResult:
    """RMA's values of the files that could be read (None when none could), and affyio's
    reason for each that could not."""

    values: ProbeSetValues | None
    unreadable: dict[str, str]


def _rscript(script: str, folder: Path, name: str, *args: str | Path) -> None:
    path = folder / name
    path.write_text(script)
    run_command(["Rscript", "--vanilla", path, *values(*args)], env={"TZ": "UTC"})


def _listing(folder: Path, files: dict[str, Path]) -> Path:
    """sample<TAB>path per line, what the scripts read."""
    for sample in files:
        if not sample or any(c in sample for c in "\t\r\n"):
            raise ValidationError(f"sample name {sample!r} cannot head a column")
    listing = folder / "cel_files.tsv"
    listing.write_text("".join(f"{sample}\t{path}\n" for sample, path in files.items()))
    return listing


def build_cdf_env(cdf: Path, out: Path) -> tuple[str, list[str]]:
    """makecdfenv's environment of `cdf` saved as `out/cdfenv.rds`; returns the chip's name
    and its probe sets."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        _rscript(BUILD_CDF_ENV, out, "build_cdf_env.R", cdf, out)
    except Exception as exc:
        detail = first_line(exc) or "no detail"
        raise UnreadableChipDefinition(
            f"{cdf.name}: makecdfenv could not read it as a CDF file ({detail[:200]})"
        ) from None
    name = cdf.name[: -len(".cdf")] if cdf.name.lower().endswith(".cdf") else cdf.name
    return name, (out / "probe_sets.txt").read_text().split()


class AffySession:
    """One `Rscript` process for an experiment's arrays: it reads their headers, then runs RMA.

    Started before the CEL files are copied out of the lake, so R's start and affy's loading
    (about half a second) happen beside the copies, and once for both steps: reading the
    headers in a process of its own cost a second R start. Between the two steps the caller
    fetches the chip definition the headers name. Use as a context manager: leaving it ends
    the process (killed if it is still busy, e.g. when the job is terminated)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "affy_session.R"
        script.write_text(AFFY_SESSION)
        self._errors = folder / "affy_session.stderr"
        argv: list[str | os.PathLike[str]] = ["Rscript", "--vanilla", script]
        self.process = start_dialogue(argv, env={**os.environ, "TZ": "UTC"}, errors=self._errors)

    def __enter__(self) -> AffySession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        process = self.process
        if process.stdin and not process.stdin.closed:
            process.stdin.close()  # end of input: the session's loop ends
        try:
            process.wait(timeout=10 if exc_info[0] is None else 0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()

    def _ask(self, command: str, *args: str | Path) -> None:
        """Send one command, wait for its answer; an R error or R's end is a CommandError."""
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        line = "\t".join([command, *map(str, args)])
        if any(c in line for c in "\r\n"):
            raise ValidationError(f"a path with a line break cannot be passed to R: {line!r}")
        try:
            process.stdin.write(line + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            pass  # R has ended: its exit code and output are reported below
        answer = process.stdout.readline().rstrip("\n")
        if answer == "done":
            return
        if answer.startswith("error\t"):
            raise CommandError(f"R's {command} failed: {answer.split(chr(9), 1)[1]}")
        code = process.wait()
        tail = last_lines(self._errors.read_text(errors="replace")) or "(no output)"
        raise CommandError(f"Rscript ended during {command} (exit code {code}): {tail}")

    def read_headers(self, files: dict[str, Path], folder: Path) -> list[CelHeader]:
        """Each sample's chip, or affyio's reason it cannot be read, in the order given."""
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / "cel_headers.tsv"
        self._ask("headers", _listing(folder, files), out)
        headers = []
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            sample, chip, problem = [*line.split("\t"), "", ""][:3]
            headers.append(CelHeader(sample, chip, problem))
        return headers

    def run_rma(self, files: dict[str, Path], chip: str, cdf_env: Path, folder: Path) -> RmaResult:
        """affy::rma of `files` (all of chip `chip`, as their headers name it, whose saved
        definition is `cdf_env`: affy looks it up under that name)."""
        folder.mkdir(parents=True, exist_ok=True)
        out, unreadable = folder / "probe_set_rma.tsv", folder / "unreadable.tsv"
        self._ask("rma", _listing(folder, files), out, chip, cdf_env, unreadable)
        problems = dict(
            line.split("\t", 1)
            for line in unreadable.read_text(encoding="utf-8", errors="replace").splitlines()
            if "\t" in line
        )
        return RmaResult(read_probe_set_values(out) if out.exists() else None, problems)


def read_probe_set_values(path: Path) -> ProbeSetValues:
    """A probe-set matrix as `AffySession.run_rma` (or R by hand) writes it: `ProbeSet`,
    then samples.

    Read with plain Python rather than polars: a few thousand rows, and polars' streaming CSV
    reader was seen to hang in a worker (its runtime waiting on itself)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValidationError(f"{path.name}: empty; no probe-set values")
    samples = lines[0].split("\t")[1:]
    names: list[str] = []
    rows: list[list[float]] = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(samples) + 1:
            raise ValidationError(f"{path.name}: line {number} has {len(fields)} fields")
        names.append(fields[0])
        rows.append([float(value) for value in fields[1:]])
    import numpy as np  # here, not above: the affy job starts R before its numeric imports

    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(samples))
    return ProbeSetValues(names, samples, values)
