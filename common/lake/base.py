"""The storage interface every lake backend implements."""

from __future__ import annotations

import builtins
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

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


@dataclass(frozen=True)
class StagedFile:
    """A file in a lake's staging folder (on this machine, whatever the backend)."""

    name: str
    path: Path
    size: int


class Scan(NamedTuple):
    """A lake's objects as two dicts keyed alike, {key: size} and {key: fingerprint}, and what
    is in the lake but is no object: {key: type} of links, FIFOs, sockets, devices."""

    sizes: dict[str, int]
    fingerprints: dict[str, str]
    special: dict[str, str]


class Progress(Protocol):
    """What long work calls as it goes (ops.progress: a stage, units done, the total)."""

    def __call__(self, stage: str, advance: int = 0, total: int | None = None) -> None: ...


INTERNAL_AREAS = (".quarantine/", ".trash/")


def relative_prefix(prefix: str) -> str:
    """`prefix` without slashes at its ends, refused unless a plain path inside the lake."""
    cleaned = prefix.strip("/")
    parts = cleaned.split("/")
    if not cleaned or any(part in {"", ".", ".."} for part in parts):
        raise StorageError(f"refusing lake path {prefix!r}: not a plain path inside the lake")
    return cleaned


class Lake(ABC):
    """A place that stores objects under keys, atomically.

    Every operation a caller needs is a method here that every backend implements, so no
    caller asks which backend it holds. Folders (`analyses/7/`) and the internal dot-areas
    (`.quarantine/`, `.trash/`, never listed by `list`) are moved, tested and purged whole.
    """

    name: str
    # Threads worth running at once over the lake: a folder is bound by the GIL around each
    # stat or small read, a network store by the wait for each request.
    parallel_reads: int = 4
    # Whether `list`'s fingerprints are complete (a checksum cache can trust them as listed);
    # otherwise `with_stored_checksum` completes each one with a request of its own.
    listing_fingerprints_complete: bool = True

    @abstractmethod
    def put_file(self, key: str, source: Path, *, sha256: str | None = None) -> ObjectInfo:
        """Store the file at `source` under `key` atomically, replacing any old object."""

    def put_file_resumable(
        self, key: str, source: Path, *, sha256: str, state_dir: Path
    ) -> tuple[ObjectInfo, int]:
        """`put_file`, continued where an interrupted earlier call stopped when the backend
        uploads in parts (state kept under `state_dir`); returns the object and parts sent."""
        return self.put_file(key, source, sha256=sha256), 1

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Info about `key`, or None when absent."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (internal areas excluded)."""

    def with_stored_checksum(self, info: ObjectInfo) -> ObjectInfo:
        """`info` with its full fingerprint and stored sha256, where the listing lacks them."""
        return info

    def listing_prefixes(self) -> Iterator[str]:
        """Non-overlapping prefixes that together cover the lake, to list in parallel."""
        yield ""

    def scan(self, *, workers: int, progress: Progress) -> Scan:
        """Every object's size and fingerprint (and what is there but is no object)."""
        progress("listing", 0, None)
        sizes: dict[str, int] = {}
        fingerprints: dict[str, str] = {}
        for info in self.list():
            sizes[info.key] = info.size
            fingerprints[info.key] = info.fingerprint
        progress("listing", len(sizes), None)
        return Scan(sizes, fingerprints, {})

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

    def local_root(self) -> Path | None:
        """The folder on this machine that holds the whole lake, when it is one."""
        return None

    @abstractmethod
    def download_link(self, key: str, expires_seconds: int) -> tuple[str, bool]:
        """Where a person fetches the object: (link, whether it expires after
        `expires_seconds`). A folder on this machine answers the object's path, which does not
        expire; an object store a presigned URL, renewed by asking again."""

    def writes_denied_under(self, prefix: str) -> bool:
        """Whether the store itself refuses writes and deletions under `prefix` to everyone
        but its named writers (on S3, a bucket policy). A filesystem lake protects each file
        by its mode and owner instead, so it says no."""
        return False

    def check_reachable(self) -> None:  # noqa: B027 - a lake with nothing to reach
        """A StorageError naming what to do when the lake cannot be reached."""

    # -- folders and internal areas -------------------------------------------------------

    def check_inside(self, prefix: str) -> None:
        """Refuse a path that is not plainly inside the lake."""
        relative_prefix(prefix)

    @abstractmethod
    def move_tree(self, source: str, target: str) -> bool:
        """Move the folder `source` to `target` (either may be internal); False if absent.
        An existing target is never overwritten."""

    @abstractmethod
    def tree_exists(self, prefix: str) -> bool:
        """Whether anything is stored under the folder `prefix` (internal or not)."""

    @abstractmethod
    def purge_tree(self, prefix: str) -> None:
        """Delete a folder of an internal area for good (never the visible lake)."""

    @abstractmethod
    def move_object(self, key: str, target: str) -> None:
        """Move one object to `target` (either end may be in an internal area); an existing
        target is never overwritten."""

    @abstractmethod
    def list_area(self, area: str) -> Iterator[ObjectInfo]:
        """Every object under the internal area `area` (`.quarantine/…`), keyed by its whole
        location in the lake."""

    # -- sealing --------------------------------------------------------------------------

    def seal_owner(self, user: str) -> tuple[int, int] | None:
        """The (uid, gid) sealed results are handed to, or None where the store's own policy
        owns them (object stores: the bucket policy lets only the bot write `analyses/`)."""
        return None

    def seal_tree(self, prefix: str, owner: tuple[int, int] | None) -> None:  # noqa: B027
        """Make everything under `prefix` read-only (and `owner`'s, when given); an object
        store with no per-object flag leaves it to its bucket policy and the recorded
        checksums."""

    # -- staging --------------------------------------------------------------------------

    @abstractmethod
    def staging_dir(self) -> Path:
        """A folder on this machine for files on their way into the lake (partial downloads,
        copies); on a filesystem lake, on the lake's own device."""

    def staged_files(self) -> builtins.list[StagedFile]:
        """What the staging folder holds, by name. Whose each file is, and whether anyone
        will finish it, is for whoever named it to say."""
        try:
            entries = sorted(os.scandir(self.staging_dir()), key=lambda entry: entry.name)
        except FileNotFoundError:
            return []
        found = []
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    found.append(StagedFile(entry.name, Path(entry.path), entry.stat().st_size))
            except FileNotFoundError:  # finished (renamed into place) while we looked
                continue
        return found
