"""The filesystem lake backend: objects are files under a root folder.

Writes go to `.staging/` inside the root (same filesystem) and are renamed into place, so a
reader never sees a partial file. Internal folders start with a dot and are never listed.
Every path is checked to stay inside the lake: a symlink pointing elsewhere is refused, not
followed. Sealed results are handed to the bot user and made read-only (a-w on files and
folders).
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from common.errors import ConfigError, StorageError
from common.lake.base import (
    INTERNAL_AREAS,
    Lake,
    ObjectInfo,
    Progress,
    Scan,
    check_key,
    relative_prefix,
)
from common.lake.folder_scan import fingerprint_of, folder_units, scan_folder

WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


class FilesystemLake(Lake):
    """A lake in a folder."""

    listing_fingerprints_complete = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.name = str(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.parallel_reads = os.cpu_count() or 2

    def path_for(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, source: Path, *, sha256: str | None = None) -> ObjectInfo:
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = Path(source)
        if source.stat().st_dev != self.root.stat().st_dev:
            staged = self.staging_dir() / f"{target.name}.{os.getpid()}.copy"
            shutil.copyfile(source, staged)
            source = staged
        with open(source, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(source, target)
        info = self.stat(key)
        assert info is not None
        return ObjectInfo(info.key, info.size, info.fingerprint, sha256)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self.path_for(key).stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(key, st.st_size, fingerprint_of(st))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        start = self.root / prefix if prefix else self.root
        if not start.exists():
            return
        if prefix and not prefix.endswith("/") and start.is_file() and not start.is_symlink():
            yield ObjectInfo(prefix, start.stat().st_size, fingerprint_of(start.stat()))
            return
        for dirpath, dirnames, filenames in os.walk(start):
            if dirpath == str(self.root):
                dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            relative = os.path.relpath(dirpath, self.root)
            for filename in filenames:
                key = filename if relative == "." else f"{relative}/{filename}"
                try:
                    st = os.lstat(os.path.join(dirpath, filename))
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode):  # a link or a FIFO is no object (lake.check says so)
                    yield ObjectInfo(key, st.st_size, fingerprint_of(st))

    def open_read(self, key: str) -> BinaryIO:
        try:
            return open(self.path_for(key), "rb")
        except FileNotFoundError:
            raise StorageError(f"lake object {key!r} is missing") from None

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def move_prefix(self, source_prefix: str, target_prefix: str) -> int:
        source = self.root / check_key(source_prefix.rstrip("/"))
        target = self.root / target_prefix.rstrip("/")
        if not source.exists():
            return 0
        count = sum(len(files) for _, _, files in os.walk(source))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return count

    def local_path(self, key: str) -> Path | None:
        return self.path_for(key)

    def download_link(self, key: str, expires_seconds: int) -> tuple[str, bool]:
        if self.stat(key) is None:
            raise StorageError(f"{key!r} is not in the lake {self.name}")
        return str(self.path_for(key)), False

    def local_root(self) -> Path | None:
        return self.root

    def listing_prefixes(self) -> Iterator[str]:
        return folder_units(self.root)

    def scan(self, *, workers: int, progress: Progress) -> Scan:
        return scan_folder(self.root, workers=workers, progress=progress)

    def staging_dir(self) -> Path:
        path = self.root / ".staging"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- folders and internal areas -------------------------------------------------------

    def inside(self, prefix: str) -> Path:
        """The path for `prefix`, refused when it (or a symlink on the way) leads outside."""
        path = self.root / relative_prefix(prefix)
        root = self.root.resolve()
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            raise StorageError(
                f"refusing lake path {prefix!r}: it resolves outside the lake ({resolved})"
            )
        if path.is_symlink():
            raise StorageError(f"refusing lake path {prefix!r}: it is a symlink")
        return path

    def check_inside(self, prefix: str) -> None:
        self.inside(prefix)

    def move_tree(self, source: str, target: str) -> bool:
        src, dst = self.inside(source), self.inside(target)
        if not src.exists():
            return False
        if dst.exists():
            raise StorageError(f"{target} already exists in the lake; not overwriting it")
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        return True

    def tree_exists(self, prefix: str) -> bool:
        return self.inside(prefix).exists()

    def purge_tree(self, prefix: str) -> None:
        if not (relative_prefix(prefix) + "/").startswith(INTERNAL_AREAS):
            raise StorageError(f"refusing to purge {prefix!r}: only internal areas are purged")
        path = self.inside(prefix)
        if path.exists():
            shutil.rmtree(path, onerror=_make_writable_and_retry)  # onexc needs 3.12

    def move_object(self, key: str, target: str) -> None:
        src, dst = self.inside(key), self.inside(target)
        if dst.exists():
            raise StorageError(f"{target} already exists in the lake; not overwriting it")
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)

    def list_area(self, area: str) -> Iterator[ObjectInfo]:
        base = self.inside(area)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            st = path.lstat()
            if stat.S_ISREG(st.st_mode):
                key = str(path.relative_to(self.root))
                yield ObjectInfo(key, st.st_size, fingerprint_of(st))

    # -- sealing --------------------------------------------------------------------------

    def seal_owner(self, user: str) -> tuple[int, int] | None:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise ConfigError(
                f"bot user {user!r} does not exist on this machine: create it (useradd --system)"
            ) from None
        return entry.pw_uid, entry.pw_gid

    def seal_tree(self, prefix: str, owner: tuple[int, int] | None) -> None:
        """chown to `owner` (when given and not already) and chmod a-w, files first, the
        folder last."""
        folder = self.inside(prefix)
        if not folder.exists():
            return
        for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
            for name in [*filenames, *dirnames]:
                _lock(Path(dirpath) / name, owner)
        _lock(folder, owner)


def _lock(path: Path, owner: tuple[int, int] | None) -> None:
    st = path.lstat()
    if owner is not None and (st.st_uid, st.st_gid) != owner:
        os.chown(path, *owner, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~WRITE_BITS)


def _make_writable_and_retry(function: Callable[[str], object], path: str, _exc: object) -> None:
    """Sealed results are read-only; a purge (by an admin) lifts that on the way out."""
    parent = os.path.dirname(path)
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR)
    function(path)
