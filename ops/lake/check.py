"""Is the lake in sync with the catalog? Missing objects, orphans, size and content mismatches.

The catalog's stored files (`files.stored_at` set) are compared with a listing of the lake.
Listing runs in parallel over the lake's second-level folders (one per project or analysis);
hashing runs in a thread pool (file reads and large-buffer hashing release the GIL) and skips
every object whose fingerprint is in the checksum cache unless `deep` is asked for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from foreman.db import connect
from foreman.environments import Environment
from foreman.lake import FilesystemLake, Lake, ObjectInfo, open_lake
from foreman.lake.checksums import (
    READ_CHUNK_BYTES,
    ChecksumCache,
    cache_path,
    sha256_of_object,
)
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
    with ThreadPoolExecutor(2) as background:  # the catalog and the cache load while we list
        expected = background.submit(catalog_files, env)
        cache = (
            background.submit(ChecksumCache, cache_path(env.state_dir), lake.name)
            if checksums
            else None
        )
        return compare_lake(
            lake, expected, checksums=checksums, deep=deep, cache=cache, progress=progress,
            workers=workers,
        )  # fmt: skip


def compare_lake(
    lake: Lake,
    expected: dict[str, tuple[int | None, str | None]] | Future,
    *,
    checksums: bool = False,
    deep: bool = False,
    cache: ChecksumCache | Future | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> CheckReport:
    """The comparison itself, on plain values: {key: (size, sha256)} against a lake.

    `expected` and `cache` may be futures still loading while the lake is listed."""
    progress = progress or (lambda stage, advance, total: None)
    workers = workers or default_workers(lake)
    present = list_lake(lake, workers=workers, progress=progress)
    expected = expected.result() if isinstance(expected, Future) else expected
    cache = cache.result() if isinstance(cache, Future) else cache
    report = CheckReport(lake=lake.name, catalog_files=len(expected))
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


HASH_BATCH = 256  # objects per pool task: amortises scheduling over many small files


def _compare_checksums(lake, expected, to_hash, report, deep, cache, progress, workers) -> None:
    """Hash what the cache cannot vouch for, in batches on a thread pool, and compare."""
    progress("hashing", 0, len(to_hash))
    needs_detail = hasattr(lake, "with_stored_checksum")  # S3: HEAD for the full fingerprint
    results: list[tuple[ObjectInfo, str, bool]] = []
    misses: list[ObjectInfo] = []
    if needs_detail:
        misses = to_hash
    else:
        for info in to_hash:
            cached = None if deep or cache is None else cache.lookup(info)
            if cached is None:
                misses.append(info)
            else:
                results.append((info, cached, True))
        progress("hashing", len(results), None)

    def verify_batch(batch: list[ObjectInfo]) -> list[tuple[ObjectInfo, str, bool]]:
        done = []
        for info in batch:
            if needs_detail:
                info = lake.with_stored_checksum(info)
            cached = None if deep or cache is None else cache.lookup(info)
            done.append((info, cached or _sha256(lake, info), cached is not None))
        return done

    batches = [misses[i : i + HASH_BATCH] for i in range(0, len(misses), HASH_BATCH)]
    with ThreadPoolExecutor(workers) as pool:
        for batch_results in pool.map(verify_batch, batches):
            results.extend(batch_results)
            progress("hashing", len(batch_results), None)
    for info, actual, was_cached in results:
        if was_cached:
            report.from_cache += 1
        else:
            report.hashed += 1
        want = expected[info.key][1]
        if actual != want:
            report.differences.append(Difference("checksum", info.key, want, actual))
            if cache is not None and was_cached:
                cache.forget([info.key])
        elif info.sha256 and info.sha256 != actual:
            report.differences.append(
                Difference("checksum", info.key, f"stored {info.sha256}", actual)
            )
        elif cache is not None and not was_cached:
            cache.remember(info, actual)
    if cache is not None:
        cache.save()


def _sha256(lake: Lake, info: ObjectInfo) -> str:
    """Small local files in one os.read (most of a lake by count); the rest streamed."""
    if isinstance(lake, FilesystemLake) and info.size < READ_CHUNK_BYTES:
        fd = os.open(os.path.join(lake.name, info.key), os.O_RDONLY)
        try:
            return hashlib.sha256(os.read(fd, info.size + 1)).hexdigest()
        finally:
            os.close(fd)
    return sha256_of_object(lake, info.key)


def default_workers(lake: Lake) -> int:
    """One thread per core on a folder: small files keep the GIL busy, so more threads only
    queue for it (measured); a network store waits on requests, so it gets many more."""
    return (os.cpu_count() or 2) if isinstance(lake, FilesystemLake) else 16


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


class _Entry(NamedTuple):
    """ObjectInfo's fields in a tuple: 100,000 of them are built in a fraction of the time."""

    key: str
    size: int
    fingerprint: str
    sha256: str | None = None


def _list_one(lake: Lake, prefix: str) -> list:
    if not isinstance(lake, FilesystemLake):
        return list(lake.list(prefix))
    if not prefix.endswith("/"):  # a file where a folder is expected: still a lake object
        try:
            st = os.stat(lake.root / prefix)
        except FileNotFoundError:
            return []
        return [_Entry(prefix, st.st_size, fingerprint_of(st))]
    return _scan_folder(str(lake.root / prefix), prefix)


def _scan_folder(path: str, prefix: str) -> list[_Entry]:
    """Like FilesystemLake.list but with scandir and tuples (the size-only hot path)."""
    found: list[_Entry] = []
    stack = [(path, prefix)]
    while stack:
        folder, key_prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            key = key_prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, key + "/"))
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            found.append(
                _Entry(
                    key, st.st_size, f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
                )
            )
    return found


def _listing_prefixes(lake: Lake, *, wanted: int = 64, max_depth: int = 3) -> Iterator[str]:
    """Non-overlapping prefixes that together cover the lake: folders are split level by
    level (skipping internal dot-folders at the top) until there are enough units to share
    among the workers; a file met on the way is a unit of its own."""
    if not isinstance(lake, FilesystemLake):
        yield ""  # S3 listing pages are sequential; one paginator is the whole lake
        return
    folders = [""]
    for depth in range(max_depth):
        if len(folders) >= wanted:
            break
        deeper: list[str] = []
        for folder in folders:
            for entry in os.scandir(lake.root / folder if folder else lake.root):
                if depth == 0 and entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    deeper.append(f"{folder}{entry.name}/")
                else:
                    yield f"{folder}{entry.name}"
        folders = deeper
    yield from folders


def _size(value: int | None) -> str:
    return "?" if value is None else str(value)
