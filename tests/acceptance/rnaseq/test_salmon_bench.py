"""`inv bench.salmon` through `inv` on the shipped `local` environment, at a tiny size: the
report has the bench convention's shape, both sides processed every read of each sample, and
their quant.sf NumReads totals agree within 1e-4 of the total (salmon maps a read the same
way in every run; quant.sf's three decimals per transcript are the only difference)."""

from __future__ import annotations

import json

import pytest

from ops.analyses.salmon_bench import NUMREADS_TOLERANCE

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]

TOLERANCE = 1e-4
READS = 2_000


@pytest.mark.slow
def test_bench_salmon_quantifies_the_same_reads_through_the_platform_and_by_hand(local_state):
    inv = local_state.inv
    try:
        up = inv("local.up")
        assert up.returncode == 0, up.stderr
        bench = inv("bench.salmon", "--samples", "2", "--reads", str(READS), "--json")
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr
    assert bench.returncode == 0, bench.stderr
    report = json.loads(bench.stdout)

    assert report["ratio"].startswith("peer time ÷ Refinery time")
    comparisons = report["comparisons"]
    assert len(comparisons) == 3  # one per sample and the two together
    for comparison in comparisons:
        assert comparison["peer"] == "salmon by hand" and comparison["unit"] == "reads"
        assert comparison["target"] == 0.95
        assert comparison["refinery_seconds"] > 0 and comparison["peer_seconds"] > 0
        assert comparison["ratio"] == pytest.approx(
            comparison["peer_seconds"] / comparison["refinery_seconds"]
        )
    assert comparisons[-1]["refinery_work"] == 2 * READS

    details = report["details"]
    assert details["threads"] >= 1 and details["numreads_tolerance"] == NUMREADS_TOLERANCE
    assert NUMREADS_TOLERANCE == TOLERANCE
    rates = details["reads_per_second_per_thread"]
    assert rates["refinery"] > 0 and rates["salmon"] > 0
    samples = details["samples"]
    assert len(samples) == 2 and len({s["accession"] for s in samples}) == 2
    for sample in samples:
        assert sample["reads"] == sample["salmon_reads"] == READS
        assert sample["refinery_numreads"] > 0.9 * READS
        assert sample["refinery_numreads"] == pytest.approx(
            sample["salmon_numreads"], rel=TOLERANCE
        )
        assert sample["library_type"] == "U" and sample["percent_mapped"] > 90
    ratios = sorted(s["salmon_seconds"] / s["refinery_seconds"] for s in samples)
    assert details["median_sample_ratio"] == pytest.approx(sum(ratios) / 2)
    differences = [(s["refinery_seconds"] - s["salmon_seconds"]) * 1000 for s in samples]
    assert details["median_overhead_ms"] == pytest.approx(sum(differences) / 2)


def test_bench_salmon_without_a_running_foreman_is_one_line(local_state):
    bench = local_state.inv("bench.salmon", "--samples", "1", "--reads", "1000")
    assert bench.returncode != 0
    lines = bench.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), bench.stderr
    assert "Traceback" not in bench.stderr + bench.stdout
