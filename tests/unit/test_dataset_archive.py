"""A dataset's archive: every member listed in its manifest with its sha256; a changed,
unlisted or missing member, or no manifest at all, is named by `verify_archive`."""

from __future__ import annotations

import zipfile

import pytest

from common.errors import RefineryError
from workers.datasets.archive import MANIFEST, verify_archive, write_archive


def _members(tmp_path):
    (tmp_path / "README.md").write_text("# Dataset\n")
    (tmp_path / "g.tsv").write_text("Gene\tS1\nG1\t1.5\n")
    return [("README.md", tmp_path / "README.md"), ("G/G.tsv", tmp_path / "g.tsv")]


def test_a_written_archive_verifies_and_lists_every_member(tmp_path):
    out = tmp_path / "dataset.zip"
    write_archive(_members(tmp_path), out)
    assert verify_archive(out) == []
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["README.md", "G/G.tsv", MANIFEST]
        lines = archive.read(MANIFEST).decode().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["README.md", "G/G.tsv"]
    assert not (tmp_path / "dataset.zip.partial").exists()


def test_a_changed_member_or_a_missing_manifest_is_named(tmp_path):
    out = tmp_path / "dataset.zip"
    write_archive(_members(tmp_path), out)
    with zipfile.ZipFile(out) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, b"Gene\tS1\nG1\t9.9\n" if name == "G/G.tsv" else data)
        archive.writestr("extra.txt", b"?")
    assert verify_archive(tampered) == [
        "G/G.tsv: its sha256 differs from the manifest's",
        "extra.txt: not in the manifest",
    ]
    unfinished = tmp_path / "unfinished.zip"
    with zipfile.ZipFile(unfinished, "w") as archive:
        archive.writestr("README.md", entries["README.md"])
    assert verify_archive(unfinished) == [f"unfinished.zip: no {MANIFEST} (an unfinished archive)"]


def test_a_failure_mid_write_leaves_no_partial_archive(tmp_path, monkeypatch):
    out = tmp_path / "dataset.zip"
    monkeypatch.setenv("REFINERY_FAILPOINTS", "datasets.archive.member_written=error@2")
    with pytest.raises(RefineryError):
        write_archive(_members(tmp_path), out)
    assert list(tmp_path.glob("dataset.zip*")) == []
