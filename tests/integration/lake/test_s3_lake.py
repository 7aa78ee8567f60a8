"""The S3 backend on a real moto server: multipart uploads carry verifiable checksums."""

from __future__ import annotations

import hashlib
import os

import pytest

from common.errors import StorageError
from common.lake.checksums import sha256_of_object
from common.lake.s3 import S3Lake, parse_s3_url
from tests.support.buckets import create_lake_bucket

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


@pytest.fixture
def s3_lake(moto_server, make_env, request):
    bucket = f"s3-lake-{request.node.name.replace('_', '-')[5:40].strip('-')}"
    env = make_env(
        "s3lake",
        lake={"backend": "s3", "bucket": bucket, "prefix": "p/q", "root": ""},
        aws={"endpoint_url": moto_server.endpoint_url},
    )
    lake = S3Lake.for_environment(env)
    create_lake_bucket(lake)
    lake.chunk_bytes = 5 * MIB  # S3's smallest part: an 11 MiB file becomes three parts
    return lake


def test_multipart_and_single_part_objects_both_carry_full_file_sha256(s3_lake, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MIB))
    small = tmp_path / "small.bin"
    small.write_bytes(b"hello lake")
    big_info = s3_lake.put_file("raw/x/big.bin", big)
    small_info = s3_lake.put_file("raw/x/small.bin", small)
    head = s3_lake.client.head_object(
        Bucket=s3_lake.bucket, Key="p/q/raw/x/big.bin", ChecksumMode="ENABLED"
    )
    assert head["ETag"].strip('"').endswith("-3")  # really multipart
    assert head.get("ChecksumSHA256")  # S3's own (composite) checksum is stored
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    assert big_info.sha256 == expected == sha256_of_object(s3_lake, "raw/x/big.bin")
    assert small_info.sha256 == hashlib.sha256(b"hello lake").hexdigest()
    assert big_info.size == 11 * MIB
    assert big_info.fingerprint.startswith(f"s3:{11 * MIB}:") and expected in big_info.fingerprint


def test_listing_hides_internal_areas_and_moves_keep_metadata(s3_lake, tmp_path):
    source = tmp_path / "f"
    source.write_bytes(b"data")
    s3_lake.put_file("analyses/7/f", source)
    assert s3_lake.move_prefix("analyses/7/", ".trash/analyses/7-now/") == 1
    assert [info.key for info in s3_lake.list()] == []
    assert list(s3_lake.list_internal(".trash")) == [".trash/analyses/7-now/f"]
    s3_lake.move_prefix(".trash/analyses/7-now/", "analyses/7/")
    moved = s3_lake.stat("analyses/7/f")
    assert moved is not None and moved.sha256 == hashlib.sha256(b"data").hexdigest()
    assert s3_lake.open_read("analyses/7/f").read() == b"data"
    s3_lake.delete("analyses/7/f")
    assert s3_lake.stat("analyses/7/f") is None


def test_bad_keys_and_addresses_are_refused(s3_lake, tmp_path):
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(StorageError):
        s3_lake.put_file("../escape", source)
    with pytest.raises(StorageError):
        parse_s3_url("http://bucket/prefix")
    assert parse_s3_url("s3://b/a/b/") == ("b", "a/b")
