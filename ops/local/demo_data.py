"""A small synthetic delivery for the demo: paired-end gzipped FASTQ and its sample sheet.

Everything is derived from a seed, and gzip headers carry no time or name, so the same call
writes byte-identical files (and the same md5s in the sheet) every time; writing it again over
an earlier copy changes nothing a survey would notice. Samples differ in GC content and
quality so the QC report has something to show.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.surveyors.delivery import SAMPLE_SHEET

DEMO_PROJECT = "DEMO"
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
# (sample, individual, tissue, GC fraction, mean Phred quality at the first base)
_SAMPLES = (
    ("S1", "P1", "blood", 0.41, 36),
    ("S2", "P1", "liver", 0.47, 34),
    ("S3", "P2", "blood", 0.52, 31),
    ("S4", "P3", "kidney", 0.44, 27),
    ("S5", "P3", "liver", 0.58, 33),
    ("S6", "P4", "blood", 0.39, 29),
)


@dataclass(frozen=True)
class DemoDelivery:
    """Where the delivery was written and what it holds."""

    folder: Path
    sample_sheet: Path
    samples: tuple[str, ...]
    fastq_files: tuple[Path, ...]
    reads_per_file: int


def write_demo_delivery(
    folder: str | Path,
    *,
    samples: int = 4,
    reads: int = 3000,
    read_length: int = 100,
    seed: int = 20261121,
) -> DemoDelivery:
    """Write `samples` paired-end samples of `reads` read pairs each into `folder`."""
    if not 1 <= samples <= len(_SAMPLES):
        raise ValueError(f"samples must be between 1 and {len(_SAMPLES)}")
    if reads < 1 or read_length < 20:
        raise ValueError("reads must be positive and read_length at least 20")
    root = Path(folder)
    (root / "fastq").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    written: list[Path] = []
    for name, individual, tissue, gc, quality in _SAMPLES[:samples]:
        paths = []
        for mate in (1, 2):
            path = root / "fastq" / f"{name}_R{mate}.fastq.gz"
            content = _fastq_records(rng, name, mate, reads, read_length, gc, quality - mate)
            _write_gzip(path, content)
            paths.append(path)
        written.extend(paths)
        rows.append(
            {
                "project": DEMO_PROJECT,
                "sample_id": name,
                "individual": individual,
                "species": "Homo sapiens",
                "tissue": tissue,
                "run_id": "RUN1_L001",
                "read1": paths[0].relative_to(root).as_posix(),
                "read2": paths[1].relative_to(root).as_posix(),
                "read1_md5": _md5(paths[0]),
                "read2_md5": _md5(paths[1]),
                "platform": "ILLUMINA",
            }
        )
    sheet = root / SAMPLE_SHEET
    with open(sheet, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return DemoDelivery(root, sheet, tuple(r["sample_id"] for r in rows), tuple(written), reads)


def _fastq_records(
    rng: np.random.Generator,
    sample: str,
    mate: int,
    reads: int,
    read_length: int,
    gc: float,
    start_quality: int,
) -> bytes:
    at = (1 - gc) / 2
    codes = rng.choice(4, size=(reads, read_length), p=[at, gc / 2, gc / 2, at])
    sequences = _BASES[codes]
    # Quality falls along the read, with per-read and per-base noise, clipped to Phred 2..41.
    decline = np.linspace(0, 8, read_length)
    noise = rng.normal(0, 2.5, size=(reads, read_length)) + rng.normal(0, 2, size=(reads, 1))
    scores = np.clip(np.rint(start_quality - decline + noise), 2, 41).astype(np.uint8)
    qualities = scores + 33
    # A tenth of the reads are adapter-trimmed to a shorter length.
    lengths = np.full(reads, read_length)
    trimmed = rng.random(reads) < 0.1
    lengths[trimmed] = rng.integers(read_length // 2, read_length, size=int(trimmed.sum()))
    lines = []
    for index in range(reads):
        length = int(lengths[index])
        lines.append(
            b"@%s:RUN1:1:%d %d:N:0\n%s\n+\n%s\n"
            % (
                sample.encode(),
                index + 1,
                mate,
                sequences[index, :length].tobytes(),
                qualities[index, :length].tobytes(),
            )
        )
    return b"".join(lines)


def _write_gzip(path: Path, content: bytes) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(content)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()
