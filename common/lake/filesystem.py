"""The filesystem lake backend: objects are files under a root folder.

Writes go to `.staging/` inside the root (same filesystem) and are renamed into place, so a
reader never sees a partial file. Internal folders start with a dot and are never listed.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from common.errors import StorageError
from common.lake.base import Lake, ObjectInfo, check_key


class FilesystemLake(Lake):
    """A lake in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.name = str(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

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

    def staging_dir(self) -> Path:
        path = self.root / ".staging"
        path.mkdir(parents=True, exist_ok=True)
        return path


def fingerprint_of(st: os.stat_result) -> str:
    """inode, size, mtime and ctime: a rewrite that restores the mtime still moves the ctime.

    Times are written as GNU find's `%T@` writes them (seconds, a dot, the nanoseconds in nine
    digits and a trailing 0), so a listing made by `find -printf` yields the same fingerprints."""
    return (
        f"{st.st_ino}:{st.st_size}:{_find_seconds(st.st_mtime_ns)}:{_find_seconds(st.st_ctime_ns)}"
    )


def _find_seconds(nanoseconds: int) -> str:
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    return f"{seconds}.{fraction:09d}0"
