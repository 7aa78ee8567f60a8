"""A copy and the sha256 of exactly what it wrote, in one pass, small files and big."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ops.backups import hashed_copy
from ops.backups.hashed_copy import copy_hashing


@pytest.mark.parametrize("pipelined", [False, True], ids=["in-turn", "pipelined"])
def test_the_copy_is_identical_private_and_its_digest_is_the_files(
    tmp_path, monkeypatch, pipelined
):
    if pipelined:  # a reader thread for any file, in 1000-byte chunks
        monkeypatch.setattr(hashed_copy, "_PIPELINE_FROM", 1)
        monkeypatch.setattr(hashed_copy, "_BIG_CHUNK", 1000)
    data = os.urandom(250_003)
    source = tmp_path / "segment"
    source.write_bytes(data)
    copy = tmp_path / "copy"
    assert copy_hashing(source, copy) == hashlib.sha256(data).hexdigest()
    assert copy.read_bytes() == data
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600


def test_an_empty_file_copies_too(tmp_path, monkeypatch):
    monkeypatch.setattr(hashed_copy, "_PIPELINE_FROM", 0)
    (tmp_path / "empty").write_bytes(b"")
    assert copy_hashing(tmp_path / "empty", tmp_path / "copy") == hashlib.sha256().hexdigest()
    assert (tmp_path / "copy").read_bytes() == b""


def test_an_existing_destination_is_never_overwritten(tmp_path):
    (tmp_path / "source").write_bytes(b"new")
    (tmp_path / "copy").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        copy_hashing(tmp_path / "source", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"old"
