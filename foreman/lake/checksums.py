"""Content checksums of lake objects, and a cache that hashes an unchanged object only once.

The cache is a small SQLite file in the environment's state folder, keyed by (lake, key) and
valid only while the object's fingerprint is the one recorded: on a filesystem inode, size,
mtime and ctime; on S3 size, ETag and the stored checksum. Anything that rewrites the object
changes the fingerprint, so a stale entry is never trusted.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from foreman.lake.base import Lake, ObjectInfo

READ_CHUNK_BYTES = 4 * 1024 * 1024  # large buffers: hashlib releases the GIL while hashing


def sha256_of_object(lake: Lake, key: str) -> str:
    """The sha256 of the object's content, read from its local path when it has one."""
    digest = hashlib.sha256()
    path = lake.local_path(key)
    handle = open(path, "rb", buffering=0) if path is not None else lake.open_read(key)  # noqa: SIM115
    with handle:
        while chunk := handle.read(READ_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class ChecksumCache:
    """sha256 per (lake, key, fingerprint), loaded into memory for one lake at a time."""

    def __init__(self, path: Path, lake_name: str) -> None:
        self.path = Path(path)
        self.lake_name = lake_name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS checksums (lake TEXT NOT NULL, key TEXT NOT NULL,"
                " fingerprint TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (lake, key))"
            )
            rows = db.execute(
                "SELECT key, fingerprint, sha256 FROM checksums WHERE lake = ?", (lake_name,)
            ).fetchall()
        self._entries = {key: (fingerprint, sha256) for key, fingerprint, sha256 in rows}
        self._pending: dict[str, tuple[str, str]] = {}

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def lookup(self, info: ObjectInfo) -> str | None:
        """The cached sha256 of `info`, only if its fingerprint is unchanged."""
        entry = self._entries.get(info.key)
        if entry is not None and entry[0] == info.fingerprint:
            return entry[1]
        return None

    def remember(self, info: ObjectInfo, sha256: str) -> None:
        self._entries[info.key] = (info.fingerprint, sha256)
        self._pending[info.key] = (info.fingerprint, sha256)

    def forget(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        for key in keys:
            self._entries.pop(key, None)
            self._pending.pop(key, None)
        with self._connect() as db:
            db.executemany(
                "DELETE FROM checksums WHERE lake = ? AND key = ?",
                [(self.lake_name, key) for key in keys],
            )

    def save(self) -> int:
        """Write new entries in one transaction; returns how many."""
        if not self._pending:
            return 0
        with self._connect() as db:
            db.executemany(
                "INSERT INTO checksums (lake, key, fingerprint, sha256) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (lake, key) DO UPDATE"
                " SET fingerprint = excluded.fingerprint, sha256 = excluded.sha256",
                [(self.lake_name, key, fp, sha) for key, (fp, sha) in self._pending.items()],
            )
        count = len(self._pending)
        self._pending.clear()
        return count


def cache_path(state_dir: Path) -> Path:
    return Path(state_dir) / "lake-checksums.sqlite"
