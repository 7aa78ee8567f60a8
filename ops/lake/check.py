"""Is the lake in sync with the catalog? Missing objects, orphans, size and content mismatches.

The catalog's stored files (`files.stored_at` set) are compared with a listing of the lake.
Listing runs in parallel over the lake's second-level folders (one per project or analysis);
hashing runs in a thread pool (file reads and large-buffer hashing release the GIL) and skips
every object whose fingerprint is in the checksum cache unless `deep` is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from foreman.db import connect
from foreman.environments import Environment
from foreman.lake import FilesystemLake, Lake, ObjectInfo, open_lake
from foreman.lake.checksums import ChecksumCache, cache_path, sha256_of_object
from foreman.lake.filesystem import fingerprint_of
from foreman.sql import query

Progress = Callable[[str, int, int | None], None]  # (stage, advance, total or None)


@dataclass(frozen=True)
class Difference:
    """One way the lake and the catalog disagree about a key."""

    kind: str  # missing | orphan | size | checksum
    key: str
    expected: str = ""
    actual: str = ""


@dataclass
class CheckReport:
    lake: str
    catalog_files: int = 0
    lake_objects: int = 0
    hashed: int = 0
    from_cache: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "lake": self.lake,
            "in_sync": self.in_sync,
            "catalog_files": self.catalog_files,
            "lake_objects": self.lake_objects,
            "hashed": self.hashed,
            "from_cache": self.from_cache,
            "differences": [asdict(d) for d in self.differences],
        }


def catalog_files(env: Environment) -> dict[str, tuple[int | None, str | None]]:
    """{lake_key: (size_bytes, sha256)} for every file the catalog says is stored."""
    conn = connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute(query(__file__, "lake.sql", "stored_files"))
            return {key: (size, sha) for key, size, sha in cur.fetchall()}
    finally:
        conn.close()


def check_lake(
    env: Environment,
    *,
    checksums: bool = False,
    deep: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    lake: Lake | None = None,
) -> CheckReport:
    """Compare `env`'s catalog with its lake (or `lake`, e.g. a mirror)."""
    lake = lake or open_lake(env)
    expected = catalog_files(env)
    cache = ChecksumCache(cache_path(env.state_dir), lake.name) if checksums else None
    return compare_lake(
        lake, expected, checksums=checksums, deep=deep, cache=cache, progress=progress,
        workers=workers,
    )  # fmt: skip


def compare_lake(
    lake: Lake,
    expected: dict[str, tuple[int | None, str | None]],
    *,
    checksums: bool = False,
    deep: bool = False,
    cache: ChecksumCache | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> CheckReport:
    """The comparison itself, on plain values: {key: (size, sha256)} against a lake."""
    progress = progress or (lambda stage, advance, total: None)
    workers = workers or min(32, (os.cpu_count() or 2) * 4)
    report = CheckReport(lake=lake.name, catalog_files=len(expected))
    present = list_lake(lake, workers=workers, progress=progress)
    report.lake_objects = len(present)
    to_hash: list[ObjectInfo] = []
    for key, (size, sha256) in expected.items():
        info = present.get(key)
        if info is None:
            report.differences.append(Difference("missing", key, _size(size), "absent"))
        elif size is not None and info.size != size:
            report.differences.append(Difference("size", key, _size(size), _size(info.size)))
        elif checksums and sha256:
            to_hash.append(info)
    for key, info in present.items():
        if key not in expected:
            report.differences.append(Difference("orphan", key, "no catalog row", _size(info.size)))
    if checksums:
        _compare_checksums(lake, expected, to_hash, report, deep, cache, progress, workers)
    report.differences.sort(key=lambda d: (d.kind, d.key))
    return report


def _compare_checksums(lake, expected, to_hash, report, deep, cache, progress, workers) -> None:
    progress("hashing", 0, len(to_hash))
    needs_detail = hasattr(lake, "with_stored_checksum")

    def verify(info: ObjectInfo) -> tuple[ObjectInfo, str, bool, str | None]:
        if needs_detail:
            info = lake.with_stored_checksum(info)
        cached = None if deep or cache is None else cache.lookup(info)
        actual = cached or sha256_of_object(lake, info.key)
        return info, actual, cached is not None, info.sha256

    with ThreadPoolExecutor(workers) as pool:
        for info, actual, was_cached, stored in pool.map(verify, to_hash, chunksize=64):
            progress("hashing", 1, None)
            if was_cached:
                report.from_cache += 1
            else:
                report.hashed += 1
            want = expected[info.key][1]
            if actual != want:
                report.differences.append(Difference("checksum", info.key, want, actual))
                if cache is not None:
                    cache.forget([info.key])
                continue
            if stored and stored != actual:
                report.differences.append(
                    Difference("checksum", info.key, f"stored {stored}", actual)
                )
            elif cache is not None and not was_cached:
                cache.remember(info, actual)
    if cache is not None:
        cache.save()


def list_lake(lake: Lake, *, workers: int, progress: Progress) -> dict[str, ObjectInfo]:
    """Every object in the lake, listing its second-level folders in parallel."""
    progress("listing", 0, None)
    prefixes = list(_listing_prefixes(lake))
    objects: dict[str, ObjectInfo] = {}
    with ThreadPoolExecutor(workers) as pool:
        for batch in pool.map(lambda prefix: _list_one(lake, prefix), prefixes):
            for info in batch:
                objects[info.key] = info
            progress("listing", len(batch), None)
    return objects


def _list_one(lake: Lake, prefix: str) -> list[ObjectInfo]:
    if isinstance(lake, FilesystemLake) and prefix and not prefix.endswith("/"):
        try:  # a file sitting where a folder is expected: still an object of the lake
            st = os.stat(lake.root / prefix)
        except FileNotFoundError:
            return []
        return [ObjectInfo(prefix, st.st_size, fingerprint_of(st))]
    return list(lake.list(prefix))


def _listing_prefixes(lake: Lake) -> Iterator[str]:
    """Non-overlapping prefixes that together cover the lake (top-level files included)."""
    if isinstance(lake, FilesystemLake):
        top_files = False
        for top in os.scandir(lake.root):
            if top.name.startswith("."):
                continue
            if not top.is_dir(follow_symlinks=False):
                top_files = True
                continue
            for child in os.scandir(top.path):
                yield f"{top.name}/{child.name}" + ("/" if child.is_dir() else "")
        if top_files:
            yield from (e.name for e in os.scandir(lake.root) if _is_top_file(e))
        return
    yield ""  # S3 listing pages are sequential; one paginator is the whole lake


def _is_top_file(entry: os.DirEntry) -> bool:
    return not entry.name.startswith(".") and not entry.is_dir(follow_symlinks=False)


def _size(value: int | None) -> str:
    return "?" if value is None else str(value)
