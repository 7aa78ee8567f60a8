"""The fast paths of lake.check give the same answers as the plain ones (no services)."""

from __future__ import annotations

import hashlib
import os
import sqlite3

from common.lake import FilesystemLake, folder_scan
from common.lake.checksums import ChecksumCache
from common.lake.filesystem import fingerprint_of
from common.lake.find_scan import find_sizes_and_fingerprints, gnu_find
from ops.lake import listing
from ops.lake.catalog import Catalog, parse_copy_text
from ops.lake.check import compare_lake


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lake_with(tmp_path, files: dict[str, bytes]) -> FilesystemLake:
    lake = FilesystemLake(tmp_path / "lake")
    for key, data in files.items():
        path = lake.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return lake


def _python_walk(lake: FilesystemLake, monkeypatch) -> folder_scan.Scan:
    with monkeypatch.context() as patch:
        patch.setattr(folder_scan, "find_sizes_and_fingerprints", lambda *args: None)
        return lake.scan(workers=2, progress=_quiet)


def _quiet(stage, advance, total) -> None:
    return None


def test_copy_text_is_parsed_into_sizes_and_checksums():
    text = "raw/a\t3\t" + "a" * 64 + "\nraw/b\t\\N\t\\N\nraw/c\t0\t" + "c" * 64 + "\n"
    catalog = parse_copy_text(text)
    assert catalog.sizes == {"raw/a": 3, "raw/b": None, "raw/c": 0}
    assert catalog.sha256s == {"raw/a": "a" * 64, "raw/b": None, "raw/c": "c" * 64}
    assert parse_copy_text("") == Catalog({}, {})


def test_copy_text_with_an_escape_is_left_to_the_driver():
    assert parse_copy_text("raw/odd\\tname\t3\t\\N\n") is None


def test_find_and_the_python_walk_list_the_same_objects_and_fingerprints(tmp_path, monkeypatch):
    assert gnu_find() is not None, "find is needed for the fast listing"
    lake = _lake_with(
        tmp_path,
        {"raw/p/e1/a": b"aaa", "raw/p/e2/deep/b": b"bb", "analyses/1/c": b"", "top": b"t",
         ".staging/x": b"internal", ".trash/t/y": b"internal"},
    )  # fmt: skip
    (lake.root / "raw/p/e1/link").symlink_to(lake.root / "raw/p/e1/a")
    by_find = lake.scan(workers=2, progress=_quiet)
    by_python = _python_walk(lake, monkeypatch)
    assert by_find == by_python
    assert by_find.sizes == {"raw/p/e1/a": 3, "raw/p/e2/deep/b": 2, "analyses/1/c": 0, "top": 1}
    st = os.stat(lake.root / "raw/p/e2/deep/b")
    assert by_find.fingerprints["raw/p/e2/deep/b"] == fingerprint_of(st)


def test_names_find_cannot_report_faithfully_fall_back_to_the_python_walk(tmp_path, monkeypatch):
    lake = _lake_with(tmp_path, {"raw/p/e/a": b"aaa"})
    (lake.root / "raw/p/e/line\nbreak").write_bytes(b"x")
    os.close(os.open(os.fsencode(lake.root / "raw/p/e") + b"/not-utf8-\xff", os.O_CREAT, 0o644))
    scan = lake.scan(workers=2, progress=_quiet)
    assert scan == _python_walk(lake, monkeypatch)
    assert "raw/p/e/line\nbreak" in scan.sizes and len(scan.sizes) == 3


def test_warm_in_sync_check_trusts_the_cache_and_deep_does_not(tmp_path):
    files = {f"raw/p/e/{n}": bytes([n]) * (n + 1) for n in range(20)}
    lake = _lake_with(tmp_path, files)
    expected = {key: (len(data), _sha(data)) for key, data in files.items()}
    cache_file = tmp_path / "cache.sqlite"
    assert (
        compare_lake(
            lake, expected, checksums=True, cache=ChecksumCache(cache_file, lake.name)
        ).hashed
        == 20
    )
    warm = compare_lake(lake, expected, checksums=True, cache=ChecksumCache(cache_file, lake.name))
    assert (warm.hashed, warm.from_cache, warm.in_sync) == (0, 20, True)
    deep = compare_lake(
        lake, expected, checksums=True, deep=True, cache=ChecksumCache(cache_file, lake.name)
    )
    assert (deep.hashed, deep.from_cache, deep.in_sync) == (20, 0, True)
    expected["raw/p/e/3"] = (4, _sha(b"not it"))  # the catalog changes, the lake does not
    wrong = compare_lake(lake, expected, checksums=True, cache=ChecksumCache(cache_file, lake.name))
    assert [(d.kind, d.key) for d in wrong.differences] == [("checksum", "raw/p/e/3")]
    assert wrong.from_cache == 20


def test_rows_without_size_or_checksum_are_not_compared_on_them(tmp_path):
    lake = _lake_with(tmp_path, {"raw/p/e/a": b"aaa", "raw/p/e/b": b"bb"})
    expected = {"raw/p/e/a": (None, _sha(b"aaa")), "raw/p/e/b": (2, None)}
    report = compare_lake(lake, expected, checksums=True)
    assert report.in_sync and report.hashed == 1


def test_the_cache_ignores_an_old_format_or_a_damaged_row(tmp_path):
    path = tmp_path / "cache.sqlite"
    cache = ChecksumCache(path, "lake")
    cache.remember(listing.Entry("k", 1, "fp"), "s" * 64)
    assert cache.save() == 1
    assert ChecksumCache(path, "lake").sha256s == {"k": "s" * 64}
    with sqlite3.connect(path) as db:
        db.execute("UPDATE lake_checksums SET entries = ?", (b"\x00garbage",))
    assert ChecksumCache(path, "lake").fingerprints == {}
    with sqlite3.connect(path) as db:
        db.execute("UPDATE lake_checksums SET format = 1")
    assert ChecksumCache(path, "lake").sha256s == {}


def test_a_find_that_fails_leaves_the_listing_to_python(tmp_path, monkeypatch):
    lake = _lake_with(tmp_path, {"raw/p/e/a": b"aaa"})
    fake = tmp_path / "bin" / "find"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'find: unknown predicate' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert find_sizes_and_fingerprints(str(lake.root), ["raw/"], 2) is None
    scan = lake.scan(workers=2, progress=_quiet)
    assert scan.sizes == {"raw/p/e/a": 3}


def test_links_fifos_and_sockets_in_the_lake_are_reported_by_both_listings(tmp_path, monkeypatch):
    import socket

    data = b"@r\nACGT\n+\nIIII\n"
    lake = _lake_with(tmp_path, {"raw/p/e/a.fq": data, "raw/p/e/b.fq": data})
    (lake.root / "raw/p/e/b.fq").unlink()
    os.mkfifo(lake.root / "raw/p/e/b.fq")  # a FIFO swapped in for a stored file
    (lake.root / "raw/p/e/link").symlink_to("/etc/hostname")
    (lake.root / "top-link").symlink_to(lake.root / "raw")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(lake.root / "raw/p/sock"))
    expected = {"raw/p/e/a.fq": (len(data), _sha(data)), "raw/p/e/b.fq": (len(data), _sha(data))}
    special = {
        ("special", "raw/p/e/b.fq", "a regular file", "FIFO"),
        ("special", "raw/p/e/link", "nothing", "symbolic link"),
        ("special", "raw/p/sock", "nothing", "socket"),
        ("special", "top-link", "nothing", "symbolic link"),
    }
    by_find = compare_lake(lake, expected, checksums=True)
    with monkeypatch.context() as patch:
        patch.setattr(folder_scan, "find_sizes_and_fingerprints", lambda *args: None)
        by_python = compare_lake(lake, expected, checksums=True)
    for report in (by_find, by_python):
        found = {(d.kind, d.key, d.expected, d.actual) for d in report.differences}
        assert special <= found and ("missing", "raw/p/e/b.fq", str(len(data)), "absent") in found
        assert not report.in_sync
    assert [info.key for info in lake.list()] == ["raw/p/e/a.fq"]
