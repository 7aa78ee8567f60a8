"""Opening a FASTQ file as a stream of text, plain or gzipped, from any readable source — kept
apart from the statistics (numpy) so that salmon's quantification, which streams reads too,
imports no numeric library."""

from __future__ import annotations

import gzip
import io
from typing import Any, BinaryIO

_GZIP_MAGIC = b"\x1f\x8b"


class _ReadAdapter(io.RawIOBase):
    """Any object with read(n) as a raw stream (e.g. an S3 body), so it can be buffered."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_fastq(raw: BinaryIO) -> BinaryIO:
    """A stream of FASTQ text from `raw`, gunzipped when it starts with the gzip magic."""
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(_ReadAdapter(raw))
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered
