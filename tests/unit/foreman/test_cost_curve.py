"""`inv bench.curve` reads its queue lengths strictly and compares each with the smallest."""

from __future__ import annotations

import pytest

from common.errors import ValidationError
from ops.foreman.curve import CostCurve, Point, parse_sizes
from ops.foreman.curve_child import Dispatched


def test_sizes_are_increasing_whole_numbers():
    assert parse_sizes("10000,100_000, 1000000") == (10_000, 100_000, 1_000_000)
    for text in ("", "10k", "100,10", "10,10", "0,10", "-5"):
        with pytest.raises(ValidationError, match="--sizes"):
            parse_sizes(text)


def _point(pending: int, executor: str, seconds: float) -> Point:
    runs = tuple(
        Dispatched(1000, seconds * factor, 1000, seconds * factor / 10, 0, 50.0, 60.0 + factor)
        for factor in (1, 5, 0.5)  # an outlier either way: the median is the middle one
    )
    return Point(pending, executor, 9_000_000, 100_000 * pending, 50_000 * pending, runs)


def test_each_longer_queue_is_compared_with_the_smallest_per_job():
    curve = CostCurve(1000, [_point(10, "null", 1.0), _point(100, "null", 2.0),
                             _point(10, "batch", 4.0), _point(100, "batch", 4.0)])  # fmt: skip
    rows = curve.comparisons()
    assert [row.benchmark for row in rows] == [
        "null: dispatch 1,000 of 100 pending", "null: reconcile 1,000 of 100 pending",
        "batch: dispatch 1,000 of 100 pending", "batch: reconcile 1,000 of 100 pending",
    ]  # fmt: skip
    # twice the time per job at the longer queue reads 0.5x; the same time, 1.0x
    assert [round(row.ratio, 2) for row in rows] == [0.5, 0.5, 1.0, 1.0]
    assert curve.points[1].us_per_job == pytest.approx(2000.0)
    assert curve.rounds == 3
    assert curve.as_dict()["points"][0]["peak_rss_mb"] == 65.0  # the highest of the rounds
