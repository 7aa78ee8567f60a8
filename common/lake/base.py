"""The storage interface every lake backend implements."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from common.errors import StorageError

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def check_key(key: str) -> str:
    """Refuse keys that could escape the lake or collide with internal areas."""
    parts = key.split("/")
    if (
        not _KEY.match(key)
        or any(part in {".", ".."} for part in parts)
        or parts[0].startswith(".")
    ):
        raise StorageError(f"refusing lake key {key!r}: not a plain relative path inside the lake")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows about a stored object without reading it.

    `fingerprint` is whatever proves the content unchanged on that backend (on a filesystem:
    inode, size, mtime and ctime; on S3: size, ETag and stored checksum) — checksum caches key
    on it.
    """

    key: str
    size: int
    fingerprint: str
    sha256: str | None = None


class Lake(ABC):
    """A place that stores objects under keys, atomically."""

    name: str

    @abstractmethod
    def put_file(self, key: str, source: Path, *, sha256: str | None = None) -> ObjectInfo:
        """Store the file at `source` under `key` atomically, replacing any old object."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Info about `key`, or None when absent."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (internal areas excluded)."""

    @abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """A binary stream of the object's content."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; absent is not an error."""

    @abstractmethod
    def move_prefix(self, source_prefix: str, target_prefix: str) -> int:
        """Move every object under `source_prefix` to `target_prefix`; returns the count."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def local_path(self, key: str) -> Path | None:
        """A path on this machine holding the object, when the backend has one."""
        return None

    def staging_dir(self) -> Path:
        """A folder for partial downloads; on a filesystem lake, on the same device."""
        raise NotImplementedError

    def writes_denied_under(self, prefix: str) -> bool:
        """Whether the store itself refuses writes and deletions under `prefix` to everyone
        but its named writers (on S3, a bucket policy). A filesystem lake protects each file
        by its mode and owner instead, so it says no."""
        return False

    # Internal (dot-led) areas of an object store. A filesystem lake reaches them through its
    # paths (ops.lake.moves), so only object-store backends implement these.

    def list_internal(self, area: str) -> Iterator[str]:
        """Keys under an internal dot-area (`.quarantine/…`), for recovery and purging."""
        raise NotImplementedError

    def delete_internal(self, key: str) -> None:
        """Delete a key in an internal area."""
        raise NotImplementedError

    def move_object(self, key: str, target: str) -> None:
        """Move one object to `target` (either end may be in an internal area)."""
        raise NotImplementedError
