"""salmon, the program: its version, building an index, quantifying one sample.

Every call goes through `common.shell`. The index is built twice per transcriptome, as
refine.bio does: k=31 for reads longer than 75 bp (`long`) and k=23 for shorter ones
(`short`), since a k-mer longer than a third of a read finds few exact seeds. Quantification
is `salmon quant -l A --seqBias` (with `--gcBias` for paired reads, where the fragment's GC
content is known), with the job's thread count; salmon inherits the worker's memory limit,
so a sample that needs more memory than its tier fails and is retried one tier up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from common.errors import CommandError, JobError, PermanentJobError, ValidationError
from common.shell import last_lines, run_command

INDEX_KMERS = {"long": 31, "short": 23}
KEPT_FILES = ("quant.sf", "lib_format_counts.json", "aux_info/meta_info.json")


class SalmonFailed(JobError):
    """salmon ended with an error (out of memory among them): worth another attempt."""


@cache
def salmon_version() -> str:
    """The installed salmon's version, e.g. `1.10.1`. Where salmon is missing no retry can
    help, so that is a PermanentJobError."""
    try:
        result = run_command(["salmon", "--version"])
    except CommandError as exc:
        raise PermanentJobError(f"salmon cannot run here: {exc}") from None
    match = re.search(r"(\d+\.\d+\.\d+)", result.stdout + result.stderr)
    if not match:
        raise JobError(f"cannot read salmon's version from {result.stdout.strip()!r}")
    return match.group(1)


def build_index(transcripts: Path, folder: Path, *, kmer: int, threads: int) -> None:
    """`salmon index` of `transcripts` into `folder` with k-mer length `kmer`."""
    result = run_command(
        ["salmon", "index", "-t", transcripts, "-i", folder, "-k", kmer, "-p", threads],
        check=False,
    )
    if result.returncode != 0:
        raise SalmonFailed(
            f"salmon index (k={kmer}) exited {result.returncode}: "
            f"{last_lines(result.stderr or result.stdout, 1)}"
        )


@dataclass(frozen=True)
class Quantification:
    """What one `salmon quant` run left in its output folder."""

    folder: Path
    percent_mapped: float
    library_types: list[str]
    reads: int
    mapped: int
    meta: dict[str, Any]
    lib_format: dict[str, Any]
    # False when salmon mapped too few fragments to quantify (it says so and exits 1): the
    # mapping rate is known, the abundances are not.
    complete: bool = True

    @property
    def library_type(self) -> str:
        return self.library_types[0] if self.library_types else ""

    @property
    def salmon_version(self) -> str:
        """The version of the salmon that made it, as its meta_info.json records it."""
        return str(self.meta.get("salmon_version", ""))


def quantify(index: Path, reads: list[Path], folder: Path, *, threads: int) -> Quantification:
    """`salmon quant` of one sample: one FASTQ (single-end) or two (paired-end)."""
    if len(reads) not in (1, 2):
        raise ValidationError(f"a sample has 1 or 2 FASTQ files to quantify, not {len(reads)}")
    argv: list[str | Path | int] = ["salmon", "quant", "-i", index, "-l", "A"]
    if len(reads) == 1:
        argv += ["-r", reads[0], "--seqBias"]
    else:
        argv += ["-1", reads[0], "-2", reads[1], "--seqBias", "--gcBias"]
    argv += ["-p", threads, "-o", folder]
    try:
        result = run_command(argv, check=False)
    except CommandError as exc:
        raise PermanentJobError(f"salmon cannot run here: {exc}") from None
    meta_path = folder / "aux_info" / "meta_info.json"
    if result.returncode != 0 and "minAssignedFrags" in result.stderr and meta_path.is_file():
        return _quantification(folder, json.loads(meta_path.read_text()), {}, complete=False)
    if result.returncode != 0:
        tail = last_lines(result.stderr or result.stdout, 2).replace("\n", " ")
        memory = " (out of memory)" if "bad_alloc" in (result.stderr + result.stdout) else ""
        raise SalmonFailed(f"salmon quant exited {result.returncode}{memory}: {tail}")
    missing = [name for name in KEPT_FILES if not (folder / name).is_file()]
    if missing:
        raise SalmonFailed(f"salmon quant left no {', '.join(missing)}")
    meta = json.loads(meta_path.read_text())
    lib_format = json.loads((folder / "lib_format_counts.json").read_text())
    return _quantification(folder, meta, lib_format, complete=True)


def _quantification(
    folder: Path, meta: dict[str, Any], lib_format: dict[str, Any], *, complete: bool
) -> Quantification:
    return Quantification(
        folder=folder,
        percent_mapped=float(meta.get("percent_mapped", 0.0)),
        library_types=list(meta.get("library_types", [])),
        reads=int(meta.get("num_processed", 0)),
        mapped=int(meta.get("num_mapped", 0)),
        meta=meta,
        lib_format=lib_format,
        complete=complete,
    )
