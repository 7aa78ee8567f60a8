"""The worker benchmark runs end to end at a tiny size (its numbers are not asserted)."""

from __future__ import annotations

import pytest

from ops.jobs.bench import run_workers_bench
from tests.support.bench import assert_reported_in_common_shape

pytestmark = pytest.mark.integration


def test_bench_measures_each_pair_against_its_peer(capsys, monkeypatch):
    results = run_workers_bench(reads=500, repeats=1)
    assert [r.benchmark for r in results] == [
        "QC of gzipped FASTQ: fastq_qc", "QC of plain FASTQ: fastq_qc",
        "download over loopback HTTP: download (+md5, sha256)",
    ]  # fmt: skip
    assert {r.peer for r in results} == {"zlib decompress only", "wc -l", "curl"}
    for pair in results:
        assert pair.refinery_work == pair.peer_work > 0  # the same megabytes, both sides
        assert pair.refinery_seconds > 0 and pair.peer_seconds > 0
        assert pair.ratio == pytest.approx(pair.peer_seconds / pair.refinery_seconds)
    assert_reported_in_common_shape(results, capsys, monkeypatch)


def test_inv_bench_workers_reports_each_pair_as_json():
    import json

    from tests.support.inv import run_inv

    result = run_inv("bench.workers", "--reads", "500", "--repeats", "1", "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)["comparisons"]
    assert {row["peer"] for row in rows} == {"zlib decompress only", "wc -l", "curl"}
    assert all(row["ratio"] > 0 for row in rows)
