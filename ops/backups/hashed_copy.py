"""Copying a file while computing the sha256 of exactly the bytes written.

Each chunk is hashed and written from the buffer it was read into, so the digest describes
the copy itself, not a file that might have changed after it was read. A big file (a table's
1 GB segment) is read on a thread of its own while the caller hashes and writes: reading
from disk and hashing then overlap instead of taking turns, which matters because one such
file is usually most of a data directory and would otherwise be copied at the speed of one
core while the others sit idle.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path

_CHUNK = 1024 * 1024
_BIG_CHUNK = 8 * 1024 * 1024
_PIPELINE_FROM = 64 * 1024 * 1024
_BUFFERS = 4


def copy_hashing(source: Path, destination: Path) -> str:
    """Copy `source` to a new 0600 `destination`; return the sha256 of what was written."""
    target = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(source, "rb", buffering=0) as handle:
            if os.fstat(handle.fileno()).st_size < _PIPELINE_FROM:
                return _copy_in_turn(handle, target)
            return _copy_pipelined(handle, target)
    finally:
        os.close(target)


def _copy_in_turn(handle, target: int) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    while size := handle.readinto(buffer):
        digest.update(view[:size])
        _write_all(target, view[:size])
    return digest.hexdigest()


def _copy_pipelined(handle, target: int) -> str:
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(_BUFFERS):
        free.put(bytearray(_BIG_CHUNK))
    filled: queue.Queue[tuple[bytearray, int] | BaseException] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                buffer = free.get()
                if stop.is_set():
                    return
                size = handle.readinto(buffer)
                filled.put((buffer, size))
                if not size:
                    return
        except BaseException as exc:
            filled.put(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    digest = hashlib.sha256()
    try:
        while True:
            item = filled.get()
            if isinstance(item, BaseException):
                raise item
            buffer, size = item
            if not size:
                break
            view = memoryview(buffer)[:size]
            digest.update(view)  # releases the GIL: the reader goes on meanwhile
            _write_all(target, view)
            free.put(buffer)
    finally:
        stop.set()
        free.put(bytearray(0))  # wakes a reader waiting for a buffer
        reader.join()
    return digest.hexdigest()


def _write_all(target: int, chunk: memoryview) -> None:
    while chunk:
        chunk = chunk[os.write(target, chunk) :]
