"""Is the lake in sync with the catalog? Missing objects, orphans, size and content mismatches.

The catalog's stored files (`files.stored_at` set) are compared with a listing of the lake.
The catalog (one COPY) and the checksum cache (one blob) load in the background while the lake
is listed. A folder lake is listed into plain dicts (by GNU find when it can, see find_scan)
and compared with dict and set operations, so a warm, in-sync check does one stat per file and
no per-file Python; other backends are listed page by page and compared object by object.
Hashing runs in a thread pool (file reads and large-buffer hashing release the GIL) and skips
every object whose fingerprint is in the checksum cache unless `deep` is asked for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from common.environments import Environment
from common.lake import Lake, ObjectInfo, open_lake
from common.lake.base import Scan
from common.lake.checksums import (
    READ_CHUNK_BYTES,
    ChecksumCache,
    Fingerprinted,
    cache_path,
    sha256_of_object,
)
from ops.lake.catalog import Catalog, catalog_files
from ops.lake.leftovers import after_restore_objects, stale_leftovers
from ops.lake.listing import Entry, list_lake
from ops.progress import Progress, quiet


@dataclass(frozen=True)
class Difference:
    """One way the lake and the catalog disagree about a key."""

    kind: str  # missing | orphan | size | checksum | special | after-restore
    key: str
    expected: str | None = ""  # the catalog may hold no checksum
    actual: str = ""


@dataclass
class CheckReport:
    lake: str
    catalog_files: int = 0
    lake_objects: int = 0
    hashed: int = 0
    from_cache: int = 0
    differences: list[Difference] = field(default_factory=list)
    # Files nobody will finish (stale partial downloads): reported, cleaned by the workers,
    # and no reason to call the lake out of sync.
    leftovers: list[str] = field(default_factory=list)

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
            "leftovers": self.leftovers,
        }


def check_lake(
    env: Environment,
    *,
    checksums: bool = False,
    deep: bool = False,
    progress: Progress = quiet,
    workers: int | None = None,
    lake: Lake | None = None,
) -> CheckReport:
    """Compare `env`'s catalog with its lake (or `lake`, e.g. a mirror).

    The environment's own lake is also searched for what restores set aside (differences of
    kind `after-restore`: not in the catalog, kept for someone to decide) and for stale files
    in its staging area (leftovers)."""
    own_lake = lake is None
    lake = lake or open_lake(env)
    with ThreadPoolExecutor(2) as background:  # the catalog and the cache load while we list
        expected = background.submit(catalog_files, env, checksums=checksums)
        cache = (
            background.submit(ChecksumCache, cache_path(env.state_dir), lake.name)
            if checksums
            else None
        )
        report = compare_lake(
            lake, expected, checksums=checksums, deep=deep, cache=cache, progress=progress,
            workers=workers,
        )  # fmt: skip
    if own_lake:
        report.differences += [
            Difference("after-restore", item.key, "not in the restored catalog", item.location)
            for item in after_restore_objects(lake)
        ]
        report.leftovers = stale_leftovers(env, lake)
    return report


def compare_lake(
    lake: Lake,
    expected: Catalog | Mapping[str, tuple[int | None, str | None]] | Future,
    *,
    checksums: bool = False,
    deep: bool = False,
    cache: ChecksumCache | Future | None = None,
    progress: Progress = quiet,
    workers: int | None = None,
) -> CheckReport:
    """The comparison itself, on plain values: the catalog ({key: (size, sha256)} or a
    Catalog) against a lake. `expected` and `cache` may be futures still loading while the
    lake is listed."""
    workers = workers or lake.parallel_reads
    if lake.listing_fingerprints_complete:
        return _compare_scan(lake, expected, checksums, deep, cache, progress, workers)
    present = list_lake(lake, workers=workers, progress=progress)
    expected = _resolved(expected)
    expected = expected.rows() if isinstance(expected, Catalog) else expected
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


def _resolved(expected: Catalog | Mapping | Future) -> Catalog | Mapping:
    return expected.result() if isinstance(expected, Future) else expected


def _compare_scan(
    lake: Lake,
    expected: Catalog | Mapping | Future,
    checksums: bool,
    deep: bool,
    cache: ChecksumCache | Future | None,
    progress: Progress,
    workers: int,
) -> CheckReport:
    """A lake whose listing is the proof a checksum cache needs (a folder), compared with set
    operations on dicts: one stat per file is the only per-file work when every checksum is
    vouched for by the cache.

    The usual answer, "in sync", is found with three dict comparisons (done in C): the
    catalog's sizes equal the lake's, the lake's fingerprints equal the cache's, and the
    cache's checksums equal the catalog's. Anything else takes the per-kind set operations."""
    scan = lake.scan(workers=workers, progress=progress)
    catalog = _resolved(expected)
    catalog = catalog if isinstance(catalog, Catalog) else Catalog.of(catalog)
    wanted_sizes, sizes = catalog.sizes, scan.sizes
    report = CheckReport(lake=lake.name, catalog_files=len(wanted_sizes), lake_objects=len(sizes))
    # Links, FIFOs and the like are never lake objects: a reader would follow or block on them.
    report.differences += [
        Difference("special", key, "a regular file" if key in wanted_sizes else "nothing", kind)
        for key, kind in sorted(scan.special.items())
    ]
    if wanted_sizes == sizes:  # same keys, same sizes: no missing, orphan or size difference
        if checksums:
            cache = cache.result() if isinstance(cache, Future) else cache
            if _cache_vouches_for_all(scan, catalog, cache, deep):
                progress("hashing", len(sizes), len(sizes))
                report.from_cache = len(sizes)
                return report
            candidates = _with_checksum(catalog, set(sizes))
            _verify_folder(lake, scan, catalog, candidates, report, deep, cache, progress, workers)
            report.differences.sort(key=lambda d: (d.kind, d.key))
        return report
    missing = wanted_sizes.keys() - sizes.keys()
    orphans = sizes.keys() - wanted_sizes.keys()
    wrong_size = {
        key
        for key, size in wanted_sizes.items() - sizes.items()
        if size is not None and key not in missing
    }
    found = report.differences
    found += [Difference("missing", k, _size(wanted_sizes[k]), "absent") for k in missing]
    found += [Difference("orphan", k, "no catalog row", _size(sizes[k])) for k in orphans]
    found += [Difference("size", k, _size(wanted_sizes[k]), _size(sizes[k])) for k in wrong_size]
    if checksums:
        cache = cache.result() if isinstance(cache, Future) else cache
        candidates = _with_checksum(catalog, (catalog.sha256s.keys() & sizes.keys()) - wrong_size)
        _verify_folder(lake, scan, catalog, candidates, report, deep, cache, progress, workers)
    found.sort(key=lambda d: (d.kind, d.key))
    return report


def _with_checksum(catalog: Catalog, keys: set[str]) -> set[str]:
    """`keys` less those the catalog has no checksum for (nothing to compare with)."""
    sums = catalog.sha256s
    if None in sums.values() or "" in sums.values():
        keys -= {key for key, sha256 in sums.items() if not sha256}
    return keys


def _cache_vouches_for_all(
    scan: Scan, catalog: Catalog, cache: ChecksumCache | None, deep: bool
) -> bool:
    """Every object unchanged since it was hashed, and every hash the catalog's."""
    return (
        not deep
        and cache is not None
        and scan.fingerprints == cache.fingerprints
        and catalog.sha256s == cache.sha256s
    )


def _verify_folder(
    lake: Lake,
    scan: Scan,
    catalog: Catalog,
    candidates: set[str],
    report: CheckReport,
    deep: bool,
    cache: ChecksumCache | None,
    progress: Progress,
    workers: int,
) -> None:
    """Trust the cache for every candidate whose fingerprint is unchanged (unless `deep`);
    hash the rest on the pool; compare both with the catalog and keep the cache current."""
    if deep or cache is None:
        trusted, to_hash = set(), candidates
    else:
        changed = {key for key, _ in scan.fingerprints.items() - cache.fingerprints.items()}
        to_hash = candidates & changed
        trusted = candidates - to_hash
    progress("hashing", 0, len(candidates))
    progress("hashing", len(trusted), None)
    wanted = catalog.sha256s
    if trusted and cache is not None:  # only a cache makes anything trusted
        cached = cache.sha256s
        wrong = [key for key in trusted if cached[key] != wanted[key]]
        report.differences += [Difference("checksum", k, wanted[k], cached[k]) for k in wrong]
        cache.forget(wrong)  # re-hashed next time rather than trusted twice
    report.from_cache = len(trusted)
    infos = [Entry(k, scan.sizes[k], scan.fingerprints[k]) for k in sorted(to_hash)]
    for info, actual in _hash_all(lake, infos, progress, workers):
        report.hashed += 1
        if actual != wanted[info.key]:
            report.differences.append(Difference("checksum", info.key, wanted[info.key], actual))
        elif cache is not None:
            cache.remember(info, actual)
    if cache is not None:
        cache.save()


class _Stored(Fingerprinted, Protocol):
    """What hashing needs of an object: an ObjectInfo, or the listing's Entry."""

    @property
    def size(self) -> int: ...


_StoredT = TypeVar("_StoredT", bound=_Stored)


def _hash_all(
    lake: Lake, infos: list[_StoredT], progress: Progress, workers: int
) -> Iterator[tuple[_StoredT, str]]:
    """(info, sha256) of each object, hashed in batches on a thread pool."""

    def hash_batch(batch: list[_StoredT]) -> list[tuple[_StoredT, str]]:
        return [(info, _sha256(lake, info)) for info in batch]

    batches = [infos[i : i + HASH_BATCH] for i in range(0, len(infos), HASH_BATCH)]
    with ThreadPoolExecutor(workers) as pool:
        for done in pool.map(hash_batch, batches):
            yield from done
            progress("hashing", len(done), None)


HASH_BATCH = 256  # objects per pool task: amortises scheduling over many small files


def _compare_checksums(
    lake: Lake,
    expected: Mapping[str, tuple[int | None, str | None]],
    to_hash: list[ObjectInfo],
    report: CheckReport,
    deep: bool,
    cache: ChecksumCache | None,
    progress: Progress,
    workers: int,
) -> None:
    """Hash what the cache cannot vouch for, in batches on a thread pool, and compare."""
    progress("hashing", 0, len(to_hash))
    needs_detail = not lake.listing_fingerprints_complete  # S3: a HEAD completes each one
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


def _sha256(lake: Lake, info: _Stored) -> str:
    """Small local files in one os.read (most of a lake by count); the rest streamed."""
    path = lake.local_path(info.key) if info.size < READ_CHUNK_BYTES else None
    if path is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            return hashlib.sha256(os.read(fd, info.size + 1)).hexdigest()
        finally:
            os.close(fd)
    return sha256_of_object(lake, info.key)


def _size(value: int | None) -> str:
    return "?" if value is None else str(value)
