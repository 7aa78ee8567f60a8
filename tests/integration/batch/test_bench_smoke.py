"""`inv bench.batch` runs end to end at a tiny size (timings are not asserted; calls are)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
INV = Path(sys.executable).with_name("inv")


@pytest.mark.slow
def test_bench_batch_submits_an_array_where_the_peer_submits_every_job(make_env):
    env = make_env("benchbatch")
    result = subprocess.run(
        [INV, "bench.batch", "-e", env.name, "--jobs", "60", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    details = report["details"]
    assert details["refinery"]["calls"]["SubmitJob"] == 1  # one array for all 60
    assert details["peer"]["calls"]["SubmitJob"] == 60
    assert details["peer"]["calls"]["DescribeJobs"] == 1  # 60 ids fit one page of 100
    assert details["refinery"]["total_calls"] < details["peer"]["total_calls"]
    assert report["comparisons"][0]["benchmark"].startswith("60 jobs until")
    assert all(c["ratio"] > 0 for c in report["comparisons"])


def test_bench_batch_refuses_a_job_count_out_of_range(make_env):
    env = make_env("benchbatch")
    result = subprocess.run(
        [INV, "bench.batch", "-e", env.name, "--jobs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--jobs" in result.stderr
