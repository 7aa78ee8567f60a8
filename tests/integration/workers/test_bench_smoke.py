"""The worker benchmark runs end to end at a tiny size (its numbers are not asserted)."""

from __future__ import annotations

import pytest

from ops.jobs.bench import run_workers_bench

pytestmark = pytest.mark.integration


def test_bench_measures_each_pair_against_its_peer():
    results = run_workers_bench(reads=500, repeats=1)
    assert [r.pair for r in results].count("QC of gzipped FASTQ") == 2
    assert {r.contender for r in results} >= {"fastq_qc", "wc -l", "curl"}
    for ours, peer in zip(results[::2], results[1::2], strict=True):
        assert ours.pair == peer.pair and peer.ratio is None
        assert ours.seconds > 0 and ours.ratio == pytest.approx(ours.seconds / peer.seconds)
