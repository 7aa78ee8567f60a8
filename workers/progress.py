"""Progress of a job's transfers, so that a heartbeat means the job is moving.

A heartbeat that a thread sends on a timer only says the process is alive. A download whose
source blocks — a FIFO swapped in for a file, a hung network mount, a server that stops
sending — stays alive forever, holds its executor slot and keeps its heartbeat fresh. So a
handler reports the bytes it moves (`moved`) while it `watch`es a transfer; the runtime's
heartbeat thread asks `stalled_for` and, past `[workers] stall_seconds`, fails the attempt
with a reason and ends the process (a thread blocked in the kernel cannot be interrupted, but
the process can always exit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class TransferProgress:
    """When bytes last moved, and what is being transferred (nothing: no stall possible)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._what: str | None = None
        self._last = time.monotonic()
        self._bytes = 0

    @contextmanager
    def watch(self, what: str) -> Iterator[TransferProgress]:
        """A transfer of `what` is underway: from now on, no bytes for too long is a stall."""
        with self._lock:
            self._what, self._last, self._bytes = what, time.monotonic(), 0
        try:
            yield self
        finally:
            with self._lock:
                self._what = None

    def moved(self, count: int) -> None:
        """`count` more bytes arrived (called per chunk)."""
        with self._lock:
            self._last = time.monotonic()
            self._bytes += count

    def stalled_for(self) -> tuple[float, str, int] | None:
        """(seconds without a byte, what, bytes so far) of the watched transfer, or None."""
        with self._lock:
            if self._what is None:
                return None
            return time.monotonic() - self._last, self._what, self._bytes
