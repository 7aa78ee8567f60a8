"""A lake object's download link: a path that does not expire on a folder lake, a presigned
URL on S3 that fetches the object's bytes and is renewed (a new expiry) by asking again."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from common.errors import StorageError
from common.lake import open_lake


def test_a_link_gives_the_objects_bytes_and_is_renewed_on_s3(lake_env, tmp_path):
    lake = open_lake(lake_env)
    source = tmp_path / "archive.zip"
    source.write_bytes(b"PK\x05\x06" + bytes(18))
    content = source.read_bytes()
    lake.put_file("datasets/1/dataset-1.zip", source)
    link, expires = lake.download_link("datasets/1/dataset-1.zip", 3600)
    if lake_env.lake.backend == "filesystem":
        assert expires is False and Path(link).read_bytes() == content
        return
    assert expires is True and link.startswith(lake_env.aws.endpoint_url)
    with urllib.request.urlopen(link, timeout=30) as answer:
        assert answer.read() == content
    time.sleep(1.1)
    renewed, _ = lake.download_link("datasets/1/dataset-1.zip", 7200)
    assert renewed != link
    query = urllib.parse.parse_qs(urllib.parse.urlparse(renewed).query)
    assert query.get("X-Amz-Expires") == ["7200"] or "Expires" in query


def test_no_link_to_an_object_the_lake_does_not_hold(lake_env):
    with pytest.raises(StorageError, match="is not in the lake"):
        open_lake(lake_env).download_link("datasets/9/dataset-9.zip", 60)
