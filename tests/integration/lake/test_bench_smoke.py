"""The lake benchmark's code runs end to end at a tiny size (timings are not asserted)."""

from __future__ import annotations

import os

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE
from ops.lake.bench import run_bench
from tests.support.bench import assert_reported_in_common_shape
from tests.support.services import which_or_fail

pytestmark = pytest.mark.integration


def test_bench_lake_runs_every_mode_against_rclone(
    postgres_template, tmp_path, monkeypatch, capsys
):
    which_or_fail("rclone", "run scripts/system-packages.sh as root")
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, os.environ[ENVIRONMENTS_DIR_VARIABLE])
    timings = run_bench(150, tmp_path, repeat=1)
    assert [t.benchmark for t in timings] == [
        "lake.check size-only, 150 files",
        "lake.check --checksums (cold), 150 files",
        "lake.check --checksums (cold), 150 files",
        "lake.check --checksums (warm), 150 files",
    ]
    assert all(t.refinery_seconds > 0 and t.peer_seconds > 0 for t in timings)
    assert all(t.ratio == pytest.approx(t.peer_seconds / t.refinery_seconds) for t in timings)
    assert len(list((tmp_path / "lake").rglob("*.fq"))) == 150
    assert (tmp_path / "catalog.sha256").read_text().count("\n") == 150
    assert_reported_in_common_shape(timings, capsys, monkeypatch)


def test_inv_bench_lake_reports_each_mode_as_json(postgres_template):
    import json

    from tests.support.inv import run_inv

    which_or_fail("rclone", "run scripts/system-packages.sh as root")
    result = run_inv("bench.lake", "--files", "120", "--repeat", "1", "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)["comparisons"]
    assert rows[0]["benchmark"] == "lake.check size-only, 120 files"
    assert all(row["refinery_seconds"] > 0 and row["peer_seconds"] > 0 for row in rows)
