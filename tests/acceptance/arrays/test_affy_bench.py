"""`inv bench.affy` through `inv` on the shipped `local` environment, at a tiny size: the
report has the bench convention's shape, its target is at most 10% overhead, and both sides
gave the same probe-set values (the bench itself refuses to report when they differ by more
than 1e-9)."""

from __future__ import annotations

import json

import pytest

from ops.arrays.bench import EQUALITY, TARGET_RATIO

pytestmark = [pytest.mark.acceptance, pytest.mark.r, pytest.mark.arrays]


@pytest.mark.slow
def test_bench_affy_normalises_the_same_arrays_through_the_platform_and_by_hand(local_state):
    inv = local_state.inv
    try:
        up = inv("local.up")
        assert up.returncode == 0, up.stderr
        bench = inv("bench.affy", "--arrays", "4", "--probe-sets", "120", "--probes", "6",
                    "--json")  # fmt: skip
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr
    assert bench.returncode == 0, bench.stderr
    report = json.loads(bench.stdout)

    assert report["ratio"].startswith("peer time ÷ Refinery time")
    (comparison,) = report["comparisons"]
    assert comparison["peer"] == "affy::rma by hand"
    assert comparison["target"] == pytest.approx(1 / 1.1) == pytest.approx(TARGET_RATIO)
    assert comparison["refinery_seconds"] > 0 and comparison["peer_seconds"] > 0
    assert comparison["ratio"] == pytest.approx(
        comparison["peer_seconds"] / comparison["refinery_seconds"]
    )
    details = report["details"]
    assert (details["arrays"], details["probe_sets"], details["probes"]) == (4, 120, 6)
    assert details["largest_difference"] <= EQUALITY == 1e-9
    assert 0 < details["r_rma_seconds"] < comparison["peer_seconds"]
