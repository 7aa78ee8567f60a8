"""FASTQ quality statistics, streamed: reads, bases, GC %, Phred quality, length distribution.

A file is read in blocks of decompressed bytes and split into 4-line records; the sequence and
quality lines of a block are joined and counted with numpy in C, never per character in
Python, so memory stays bounded by the block size whatever the file's size. Plain and gzipped
FASTQ are told apart by the gzip magic bytes, not the file name.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, BinaryIO

import numpy as np

from common.errors import ValidationError
from workers.processors.fastq_streams import open_fastq

BLOCK_BYTES = 2 * 1024 * 1024
PHRED_OFFSET = 33
QUALITY_BINS = 64
GC_BINS = 101

_IS_GC = np.zeros(256, dtype=np.uint8)
for _base in b"GCgc":
    _IS_GC[_base] = 1
_GC_CODES = np.frombuffer(b"GCgc", dtype=np.uint8)
_ACGT_CODES = np.frombuffer(b"ACGTacgt", dtype=np.uint8)
_BYTE_VALUES = np.arange(256, dtype=np.int64)


class MalformedFastq(ValidationError):
    """The file is not FASTQ, or ends inside a record."""


@dataclass
class FastqStats:
    """Running totals for one file; merge() adds another's."""

    reads: int = 0
    bases: int = 0
    gc_bases: int = 0
    called_bases: int = 0
    quality_sum: int = 0
    lengths: Counter = field(default_factory=Counter)
    read_mean_quality: np.ndarray = field(
        default_factory=lambda: np.zeros(QUALITY_BINS, dtype=np.int64)
    )
    read_gc_percent: np.ndarray = field(default_factory=lambda: np.zeros(GC_BINS, dtype=np.int64))

    def add_records(self, sequences: list[bytes], qualities: list[bytes]) -> None:
        if not sequences:
            return
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        seq = np.frombuffer(b"".join(sequences), dtype=np.uint8)
        qual = np.frombuffer(b"".join(qualities), dtype=np.uint8)
        if seq.size != qual.size or list(map(len, qualities)) != lengths.tolist():
            raise MalformedFastq("a sequence and its quality line differ in length")
        self.reads += len(sequences)
        self.bases += int(seq.size)
        self.lengths.update(lengths.tolist())
        if seq.size == 0:
            return
        # Whole-block totals from byte histograms: one pass each, no wide temporary arrays.
        base_counts = np.bincount(seq, minlength=256)
        self.gc_bases += int(base_counts[_GC_CODES].sum())
        self.called_bases += int(base_counts[_ACGT_CODES].sum())
        quality_counts = np.bincount(qual, minlength=256)
        if quality_counts[:PHRED_OFFSET].any():
            raise MalformedFastq("quality characters below '!' (not Phred+33)")
        self.quality_sum += int(quality_counts @ _BYTE_VALUES) - PHRED_OFFSET * int(qual.size)
        # Per-read sums: reads are contiguous, so summing from each non-empty read's start to
        # the next one's covers exactly that read.
        nonempty = lengths > 0
        starts = (np.cumsum(lengths) - lengths)[nonempty]
        length = lengths[nonempty]
        per_read_quality = np.add.reduceat(qual, starts, dtype=np.int64) / length - PHRED_OFFSET
        gc_per_read = np.add.reduceat(np.take(_IS_GC, seq), starts, dtype=np.int64)
        self.read_mean_quality += np.bincount(
            np.minimum(per_read_quality.astype(np.int64), QUALITY_BINS - 1),
            minlength=QUALITY_BINS,
        )
        self.read_gc_percent += np.bincount(
            np.rint(gc_per_read * 100 / length).astype(np.int64), minlength=GC_BINS
        )

    def merge(self, other: FastqStats) -> None:
        self.reads += other.reads
        self.bases += other.bases
        self.gc_bases += other.gc_bases
        self.called_bases += other.called_bases
        self.quality_sum += other.quality_sum
        self.lengths.update(other.lengths)
        self.read_mean_quality += other.read_mean_quality
        self.read_gc_percent += other.read_gc_percent

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary (what qc.json holds per file and per experiment)."""
        return {
            "reads": self.reads,
            "bases": self.bases,
            "gc_percent": round(100 * self.gc_bases / self.called_bases, 3)
            if self.called_bases
            else None,
            "mean_quality": round(self.quality_sum / self.bases, 3) if self.bases else None,
            "mean_length": round(self.bases / self.reads, 3) if self.reads else None,
            "min_length": min(self.lengths) if self.lengths else None,
            "max_length": max(self.lengths) if self.lengths else None,
            "length_distribution": {str(k): v for k, v in sorted(self.lengths.items())},
            "read_mean_quality_histogram": _trimmed(self.read_mean_quality),
            "read_gc_percent_histogram": self.read_gc_percent.tolist(),
        }


def _trimmed(counts: np.ndarray) -> list[int]:
    values = counts.tolist()
    while values and values[-1] == 0:
        values.pop()
    return values


def fastq_stats(raw: BinaryIO, *, block_bytes: int = BLOCK_BYTES) -> FastqStats:
    """Statistics of the FASTQ stream `raw` (plain or gzipped), read block by block."""
    stats = FastqStats()
    stream = open_fastq(raw)
    pending: list[bytes] = []
    tail = b""
    records = 0
    windows_line_ends = False
    try:
        while True:
            block = stream.read(block_bytes)
            if not block:
                break
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            windows_line_ends = windows_line_ends or b"\r" in block
            if windows_line_ends:  # rare: only then pay for a per-line strip
                lines = [line.rstrip(b"\r") for line in lines]
            pending = _consume(stats, pending + lines, records)
            records = stats.reads
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedFastq(f"cannot decompress: {exc}") from None
    lines = pending + ([tail.rstrip(b"\r")] if tail else [])
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) % 4:
        raise MalformedFastq(f"the file ends inside record {stats.reads + 1} (truncated?)")
    _consume(stats, lines, records)
    return stats


def _consume(stats: FastqStats, lines: list[bytes], records_before: int) -> list[bytes]:
    """Count the complete records in `lines`; return the lines of an unfinished record."""
    usable = len(lines) - len(lines) % 4
    if usable == 0:
        return lines
    headers, plus = lines[0:usable:4], lines[2:usable:4]
    if not all(map(bytes.startswith, headers, repeat(b"@"))) or not all(
        map(bytes.startswith, plus, repeat(b"+"))
    ):
        raise MalformedFastq(
            f"not FASTQ: a record after read {records_before} lacks its '@' or '+' line"
        )
    stats.add_records(lines[1:usable:4], lines[3:usable:4])
    return lines[usable:]
