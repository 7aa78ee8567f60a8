"""Content checksums of lake objects, and a cache that hashes an unchanged object only once.

The cache is a small SQLite file in the environment's state folder, keyed by (lake, key) and
valid only while the object's fingerprint is the one recorded: on a filesystem inode, size,
mtime and ctime; on S3 size, ETag and the stored checksum. Anything that rewrites the object
changes the fingerprint, so a stale entry is never trusted.
"""

from __future__ import annotations

import hashlib
import marshal
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from common.files import file_sha256
from common.lake.base import Lake

READ_CHUNK_BYTES = 4 * 1024 * 1024  # large buffers: hashlib releases the GIL while hashing


def sha256_of_object(lake: Lake, key: str) -> str:
    """The sha256 of the object's content, read from its local path when it has one."""
    path = lake.local_path(key)
    if path is not None:
        return file_sha256(path)
    digest = hashlib.sha256()
    with lake.open_read(key) as stream:
        while chunk := stream.read(READ_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class Fingerprinted(Protocol):
    """An object as the cache keys it: an ObjectInfo, or the listing's lighter tuple."""

    @property
    def key(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...


class ChecksumCache:
    """sha256 per (lake, key, fingerprint), loaded into memory for one lake at a time.

    Each lake's entries are one marshal-encoded row holding two dicts keyed alike,
    `fingerprints` {key: fingerprint} and `sha256s` {key: sha256}: a warm check over 100,000
    objects loads them in milliseconds (one SQLite row per object took half a second) and can
    compare them with a listing by set operations on the dicts."""

    def __init__(self, path: Path, lake_name: str) -> None:
        self.path = Path(path)
        self.lake_name = lake_name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS lake_checksums"
                " (lake TEXT PRIMARY KEY, format INTEGER NOT NULL, entries BLOB NOT NULL)"
            )
            row = db.execute(
                "SELECT format, entries FROM lake_checksums WHERE lake = ?", (lake_name,)
            ).fetchone()
        self.fingerprints: dict[str, str] = {}
        self.sha256s: dict[str, str] = {}
        if row is not None and row[0] == _FORMAT:
            try:
                fingerprints, sha256s = marshal.loads(row[1])
            except (EOFError, ValueError, TypeError):
                fingerprints = sha256s = {}  # damaged: only a slower check, never a wrong one
            if _two_dicts_keyed_alike(fingerprints, sha256s):
                self.fingerprints, self.sha256s = fingerprints, sha256s
        self._changed = 0

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def lookup(self, info: Fingerprinted) -> str | None:
        """The cached sha256 of `info`, only if its fingerprint is unchanged."""
        if self.fingerprints.get(info.key) == info.fingerprint:
            return self.sha256s[info.key]
        return None

    def remember(self, info: Fingerprinted, sha256: str) -> None:
        self.fingerprints[info.key] = info.fingerprint
        self.sha256s[info.key] = sha256
        self._changed += 1

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            if self.fingerprints.pop(key, None) is not None:
                del self.sha256s[key]
                self._changed += 1

    def save(self) -> int:
        """Write the lake's entries if anything changed; returns how many changes."""
        if not self._changed:
            return 0
        entries = marshal.dumps((self.fingerprints, self.sha256s))
        with self._connect() as db:
            db.execute(
                "INSERT INTO lake_checksums (lake, format, entries) VALUES (?, ?, ?)"
                " ON CONFLICT (lake) DO UPDATE SET format = excluded.format,"
                " entries = excluded.entries",
                (self.lake_name, _FORMAT, entries),
            )
        changed, self._changed = self._changed, 0
        return changed


_FORMAT = 2  # 1 was {key: (fingerprint, sha256)}


def _two_dicts_keyed_alike(first: object, second: object) -> bool:
    return isinstance(first, dict) and isinstance(second, dict) and first.keys() == second.keys()


def cache_path(state_dir: Path) -> Path:
    return Path(state_dir) / "lake-checksums.sqlite"
