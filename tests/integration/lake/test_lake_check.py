"""lake.check finds every kind of difference, on a folder and on S3, and caches checksums."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.lake import FilesystemLake, open_lake
from ops.lake.check import check_lake

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def _kinds(report):
    return sorted((d.kind, d.key) for d in report.differences)


def _overwrite(lake, key: str, data: bytes, tmp_path: Path) -> None:
    source = tmp_path / "overwrite"
    source.write_bytes(data)
    if isinstance(lake, FilesystemLake):
        path = lake.path_for(key)
        path.write_bytes(data)
    else:
        lake.client.put_object(Bucket=lake.bucket, Key=lake.object_key(key), Body=data)


def test_a_synced_lake_is_clean_and_differences_are_all_reported(catalog, tmp_path):
    experiment = catalog.experiment("ERX1")
    catalog.analysis([experiment])
    env, lake = catalog.env, open_lake(catalog.env)
    report = check_lake(env, checksums=True)
    assert report.in_sync, report.differences
    assert report.catalog_files == 4 and report.lake_objects == 4 and report.hashed == 4

    keys = sorted(info.key for info in lake.list())
    lake.delete(keys[0])  # missing
    _overwrite(lake, keys[1], b"short", tmp_path)  # size mismatch
    original = lake.open_read(keys[2]).read()
    _overwrite(lake, keys[2], bytes(reversed(original)), tmp_path)  # same size, new content
    orphan = tmp_path / "orphan"
    orphan.write_bytes(b"nobody claims me")
    lake.put_file("raw/ena-PRJ1/ERX1/stray.bin", orphan)
    internal = tmp_path / "internal"
    internal.write_bytes(b"quarantined")
    if isinstance(lake, FilesystemLake):
        (lake.root / ".quarantine/x").mkdir(parents=True)
        (lake.root / ".quarantine/x/f").write_bytes(b"ignored")
        (lake.root / ".trash/analyses/1-x").mkdir(parents=True)
    else:
        lake.client.put_object(Bucket=lake.bucket, Key=lake.object_key(".trash/a/f"), Body=b"x")

    size_only = check_lake(env)
    assert _kinds(size_only) == sorted(
        [("missing", keys[0]), ("size", keys[1]), ("orphan", "raw/ena-PRJ1/ERX1/stray.bin")]
    )
    with_sums = check_lake(env, checksums=True)
    assert ("checksum", keys[2]) in _kinds(with_sums)
    assert len(with_sums.differences) == 4


def test_an_unchanged_object_is_hashed_once_and_deep_hashes_again(catalog):
    catalog.experiment("ERX2", files=3)
    first = check_lake(catalog.env, checksums=True)
    second = check_lake(catalog.env, checksums=True)
    deep = check_lake(catalog.env, checksums=True, deep=True)
    assert (first.hashed, first.from_cache) == (3, 0)
    assert (second.hashed, second.from_cache) == (0, 3)
    assert (deep.hashed, deep.from_cache) == (3, 0)


def test_a_rewrite_that_restores_mtime_is_hashed_again(make_env, tmp_path):
    from common import db
    from tests.integration.lake.conftest import Catalog

    env = make_env("mt")
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    catalog.experiment("ERX3", files=1)
    lake = open_lake(env)
    key = next(lake.list()).key
    assert check_lake(env, checksums=True).in_sync
    path = lake.path_for(key)
    before = path.stat()
    data = path.read_bytes()
    path.write_bytes(bytes(reversed(data)))  # same size, different content
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime restored, ctime not
    report = check_lake(env, checksums=True)
    assert [d.kind for d in report.differences] == ["checksum"]
    conn.close()


def test_inv_lake_check_exits_non_zero_with_json_differences(catalog):
    catalog.experiment("ERX4", files=1)
    lake = open_lake(catalog.env)
    key = next(lake.list()).key
    inv = [sys.executable, "-m", "invoke", "lake.check", "-e", catalog.env.name]
    clean = subprocess.run(inv, cwd=REPO, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert "in sync" in clean.stdout
    lake.delete(key)
    dirty = subprocess.run([*inv, "--json"], cwd=REPO, capture_output=True, text=True)
    assert dirty.returncode == 3
    import json

    body = json.loads(dirty.stdout)
    assert body["differences"] == [
        {"kind": "missing", "key": key, "expected": str(body["differences"][0]["expected"]),
         "actual": "absent"}
    ]  # fmt: skip


def test_unknown_environment_is_one_line_error():
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "lake.check", "-e", "nope"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown environment" in result.stderr
