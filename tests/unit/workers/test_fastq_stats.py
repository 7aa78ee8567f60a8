"""FASTQ statistics agree with a plain per-read computation, whatever the block size."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from workers.processors.fastq_stats import MalformedFastq, fastq_stats


def make_fastq(reads: int, seed: int = 1, *, crlf: bool = False) -> tuple[bytes, list]:
    rng = random.Random(seed)
    records = []
    for index in range(reads):
        length = 0 if index == 3 else rng.randint(30, 120)
        seq = "".join(rng.choice("ACGTN") for _ in range(length))
        qual = "".join(chr(33 + rng.randint(2, 41)) for _ in range(length))
        records.append((f"@read{index} extra", seq, qual))
    end = "\r\n" if crlf else "\n"
    text = "".join(f"{h}{end}{s}{end}+{end}{q}{end}" for h, s, q in records)
    return text.encode(), records


def expected(records: list) -> dict:
    bases = sum(len(s) for _, s, _ in records)
    gc = sum(s.count("G") + s.count("C") for _, s, _ in records)
    called = sum(sum(s.count(b) for b in "ACGT") for _, s, _ in records)
    quality = sum(ord(c) - 33 for _, _, q in records for c in q)
    return {
        "reads": len(records),
        "bases": bases,
        "gc_percent": round(100 * gc / called, 3),
        "mean_quality": round(quality / bases, 3),
    }


@pytest.mark.parametrize("block_bytes", [7, 64, 1000, 1 << 20])
def test_statistics_match_a_per_read_computation_at_every_block_size(block_bytes):
    data, records = make_fastq(300)
    summary = fastq_stats(io.BytesIO(data), block_bytes=block_bytes).summary()
    for key, value in expected(records).items():
        assert summary[key] == value, key
    lengths = {}
    for _, seq, _ in records:
        lengths[str(len(seq))] = lengths.get(str(len(seq)), 0) + 1
    assert summary["length_distribution"] == dict(sorted(lengths.items(), key=lambda i: int(i[0])))
    assert sum(summary["read_mean_quality_histogram"]) == len(records) - 1  # one empty read
    assert sum(summary["read_gc_percent_histogram"]) == len(records) - 1


def test_gzipped_and_plain_fastq_give_the_same_statistics(tmp_path):
    data, _ = make_fastq(200, seed=5)
    path = tmp_path / "reads.fq.gz"
    path.write_bytes(gzip.compress(data))
    with open(path, "rb") as handle:
        zipped = fastq_stats(handle, block_bytes=999).summary()
    assert zipped == fastq_stats(io.BytesIO(data)).summary()


def test_windows_line_endings_are_accepted():
    data, records = make_fastq(50, crlf=True)
    assert (
        fastq_stats(io.BytesIO(data), block_bytes=100).summary()["bases"]
        == expected(records)["bases"]
    )


def test_a_file_cut_inside_a_record_is_an_error():
    data, _ = make_fastq(20)
    with pytest.raises(MalformedFastq, match="ends inside record"):
        fastq_stats(io.BytesIO(data[: data.rfind(b"\n+\n")]))


def test_text_that_is_not_fastq_is_an_error():
    with pytest.raises(MalformedFastq, match="not FASTQ"):
        fastq_stats(io.BytesIO(b">seq1\nACGT\n>seq2\nACGT\n"))


def test_quality_and_sequence_of_different_length_is_an_error():
    with pytest.raises(MalformedFastq, match="differ in length"):
        fastq_stats(io.BytesIO(b"@r\nACGT\n+\nIII\n"))


def test_a_corrupt_gzip_stream_is_an_error():
    data = gzip.compress(make_fastq(50)[0])
    with pytest.raises(MalformedFastq, match="decompress"):
        fastq_stats(io.BytesIO(data[: len(data) // 2]))
