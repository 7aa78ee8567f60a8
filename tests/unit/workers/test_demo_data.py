"""The demo delivery is deterministic and passes the sample sheet's own validation."""

from __future__ import annotations

import gzip

from ops.local.demo_data import write_demo_delivery
from workers.processors.fastq_stats import fastq_stats
from workers.surveyors.delivery import read_sample_sheet


def test_the_same_seed_writes_byte_identical_files(tmp_path):
    first = write_demo_delivery(tmp_path / "a", samples=2, reads=100)
    second = write_demo_delivery(tmp_path / "b", samples=2, reads=100)
    for one, two in zip(first.fastq_files, second.fastq_files, strict=True):
        assert one.read_bytes() == two.read_bytes()
    assert first.sample_sheet.read_text() == second.sample_sheet.read_text()
    other = write_demo_delivery(tmp_path / "c", samples=2, reads=100, seed=1)
    assert other.fastq_files[0].read_bytes() != first.fastq_files[0].read_bytes()


def test_the_delivery_is_a_valid_paired_end_delivery_of_gzipped_fastq(tmp_path):
    delivery = write_demo_delivery(tmp_path / "d", samples=3, reads=250)
    runs = read_sample_sheet(delivery.folder)
    assert [run.sample for run in runs] == ["S1", "S2", "S3"]
    assert {run.library_layout for run in runs} == {"PAIRED"}
    assert all(file.md5 and len(file.md5) == 32 for run in runs for file in run.files)
    assert delivery.fastq_files[0].read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(delivery.fastq_files[0], "rb") as handle:
        stats = fastq_stats(handle)
    assert stats.reads == 250
