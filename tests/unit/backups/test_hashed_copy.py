"""A copy and the sha256 of exactly what it wrote, in one pass, small files and big."""

from __future__ import annotations

import errno
import hashlib
import os
import stat

import pytest

from ops.db.backups import hashed_copy
from ops.db.backups.hashed_copy import copy_hashing

_REAL_COPY_FILE_RANGE = os.copy_file_range


def _short_copies(source, target, count, offset_src, offset_dst):
    """copy_file_range as the kernel may return it: fewer bytes than asked, at odd offsets."""
    return _REAL_COPY_FILE_RANGE(source, target, min(count, 7777), offset_src, offset_dst)


def _refused(*_args):
    raise OSError(errno.EXDEV, "Invalid cross-device link")


@pytest.mark.parametrize(
    "way", ["kernel", "kernel-threaded", "kernel-short-copies", "through-buffer"]
)
def test_the_copy_is_identical_private_and_its_digest_is_the_files(tmp_path, monkeypatch, way):
    monkeypatch.setattr(hashed_copy, "_CHUNK", 100_000)  # several chunks, unaligned ends
    if way == "kernel-threaded":
        monkeypatch.setattr(hashed_copy, "_THREADED_FROM", 1)
    if way == "kernel-short-copies":
        monkeypatch.setattr(hashed_copy.os, "copy_file_range", _short_copies)
    if way == "through-buffer":
        monkeypatch.setattr(hashed_copy.os, "copy_file_range", _refused)
    data = os.urandom(250_003)
    source = tmp_path / "segment"
    source.write_bytes(data)
    copy = tmp_path / "copy"
    assert copy_hashing(source, copy) == hashlib.sha256(data).hexdigest()
    assert copy.read_bytes() == data
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600


@pytest.mark.parametrize("threaded_from", [0, 1 << 40], ids=["threaded", "in-line"])
def test_an_empty_file_copies_too(tmp_path, monkeypatch, threaded_from):
    monkeypatch.setattr(hashed_copy, "_THREADED_FROM", threaded_from)
    (tmp_path / "empty").write_bytes(b"")
    assert copy_hashing(tmp_path / "empty", tmp_path / "copy") == hashlib.sha256().hexdigest()
    assert (tmp_path / "copy").read_bytes() == b""


def test_a_copy_that_fails_for_real_is_not_retried_another_way(tmp_path, monkeypatch):
    def broken(*_args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(hashed_copy.os, "copy_file_range", broken)
    (tmp_path / "source").write_bytes(b"data")
    with pytest.raises(OSError, match="Input/output error"):
        copy_hashing(tmp_path / "source", tmp_path / "copy")


def test_an_existing_destination_is_never_overwritten(tmp_path):
    (tmp_path / "source").write_bytes(b"new")
    (tmp_path / "copy").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        copy_hashing(tmp_path / "source", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"old"
