"""The comparison and the checksum cache on plain values and a folder lake (no services)."""

from __future__ import annotations

import hashlib
import os

import pytest

from common.errors import StorageError
from common.lake import FilesystemLake
from common.lake.checksums import ChecksumCache
from ops.analyses.seal import results_sha256
from ops.lake.check import compare_lake


def _lake_with(tmp_path, files: dict[str, bytes]) -> FilesystemLake:
    lake = FilesystemLake(tmp_path / "lake")
    for key, data in files.items():
        path = lake.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return lake


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_compare_finds_each_kind_and_ignores_internal_areas(tmp_path):
    lake = _lake_with(
        tmp_path,
        {"raw/p/e/a": b"aaa", "raw/p/e/b": b"bbbb", "raw/p/e/c": b"zzz", "top": b"t",
         ".quarantine/x/raw/p/e/d": b"dd", ".trash/analyses/1-x/f": b"f"},
    )  # fmt: skip
    expected = {
        "raw/p/e/a": (3, _sha(b"aaa")),
        "raw/p/e/b": (3, _sha(b"bbb")),
        "raw/p/e/c": (3, _sha(b"ccc")),
        "raw/p/e/missing": (1, _sha(b"m")),
    }
    report = compare_lake(lake, expected, checksums=True)
    kinds = sorted((d.kind, d.key) for d in report.differences)
    assert kinds == [
        ("checksum", "raw/p/e/c"),
        ("missing", "raw/p/e/missing"),
        ("orphan", "top"),
        ("size", "raw/p/e/b"),
    ]


def test_cache_is_trusted_only_for_the_same_fingerprint(tmp_path):
    lake = _lake_with(tmp_path, {"raw/p/e/a": b"aaa"})
    expected = {"raw/p/e/a": (3, _sha(b"aaa"))}
    cache = ChecksumCache(tmp_path / "cache.sqlite", lake.name)
    assert compare_lake(lake, expected, checksums=True, cache=cache).hashed == 1
    reopened = ChecksumCache(tmp_path / "cache.sqlite", lake.name)
    assert compare_lake(lake, expected, checksums=True, cache=reopened).from_cache == 1
    path = lake.root / "raw/p/e/a"
    st = path.stat()
    path.write_bytes(b"xyz")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    third = compare_lake(lake, expected, checksums=True, cache=reopened)
    assert third.hashed == 1 and [d.kind for d in third.differences] == ["checksum"]


def test_results_checksum_depends_on_names_and_contents_not_order():
    one = results_sha256({"a": "1" * 64, "b": "2" * 64})
    assert one == results_sha256({"b": "2" * 64, "a": "1" * 64})
    assert one != results_sha256({"a": "2" * 64, "b": "1" * 64})


def test_moves_stay_inside_the_lake_and_purges_only_internal_areas(tmp_path):
    lake = _lake_with(tmp_path, {"raw/p/e/a": b"a"})
    with pytest.raises(StorageError):
        lake.move_tree("raw/p/e", "../outside")
    with pytest.raises(StorageError):
        lake.purge_tree("raw/p")
    assert lake.move_tree("raw/p/e", ".quarantine/t/raw/p/e")
    lake.purge_tree(".quarantine/t")
    assert not (lake.root / ".quarantine/t").exists()
