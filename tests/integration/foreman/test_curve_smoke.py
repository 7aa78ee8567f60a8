"""`inv bench.curve` runs end to end at tiny sizes (timings are not asserted; what was
dispatched, measured and compared is)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bench import assert_json_shape

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
INV = Path(sys.executable).with_name("inv")


def _curve(env_name: str, *options: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, "bench.curve", "-e", env_name, *options],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.slow
def test_bench_curve_dispatches_the_same_slice_from_each_queue_with_each_executor(make_env):
    env = make_env("benchcurve")
    result = _curve(env.name, "--sizes", "200,2000", "--slice", "100", "--rounds", "2", "--json")
    assert result.returncode == 0, result.stderr
    comparisons = assert_json_shape(result.stdout, rows=4)
    assert [c["benchmark"] for c in comparisons] == [
        "null: dispatch 100 of 2,000 pending", "null: reconcile 100 of 2,000 pending",
        "batch: dispatch 100 of 2,000 pending", "batch: reconcile 100 of 2,000 pending",
    ]  # fmt: skip
    assert all(c["peer"] == "the same, 200 pending" for c in comparisons)
    details = json.loads(result.stdout)["details"]
    assert details["slice"] == 100 and details["rounds"] == 2
    points = details["points"]
    assert [(p["executor"], p["pending"]) for p in points] == [
        ("null", 200), ("null", 2000), ("batch", 200), ("batch", 2000),
    ]  # fmt: skip
    for point in points:
        assert len(point["rounds"]) == 2  # each measured twice, in processes of their own
        assert point["dispatched"] == 100  # the queue's capacity, not the whole queue
        assert point["reconciled"] == 100  # the reconcile saw the slice, and only it
        assert point["seconds"] > 0 and point["us_per_job"] > 0
        assert point["reconcile_seconds"] > 0
        assert 10 < point["rss_before_mb"] <= point["peak_rss_mb"] < 2000
        jobs_bytes = point["jobs_table_bytes"] + point["jobs_index_bytes"]
        assert 0 < jobs_bytes < point["database_bytes"]
    small, large = points[0], points[1]
    assert large["jobs_table_bytes"] > small["jobs_table_bytes"]  # ten times the queue
    assert large["database_bytes"] > small["database_bytes"]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--sizes", "2000,200"], "--sizes"),
        (["--sizes", "ten"], "--sizes"),
        (["--sizes", "200,2000", "--slice", "500"], "--slice"),
    ],
)
def test_bench_curve_refuses_bad_sizes_in_one_line(make_env, options, named):
    env = make_env("benchcurve")
    result = _curve(env.name, *options, timeout=120)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and named in result.stderr
