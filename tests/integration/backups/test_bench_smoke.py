"""A tiny run of the backup benchmark: every step runs and is timed (no timing asserted)."""

from __future__ import annotations

import pytest

from ops.db.bench import run_backup_benchmark
from tests.support.bench import assert_reported_in_common_shape

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_backup_benchmark_runs_every_step_at_tiny_scale(
    make_env, server_tmp_path, capsys, monkeypatch
):
    base = make_env()
    result = run_backup_benchmark(server_tmp_path / "bench", scale=1, rounds=2, base_env=base.name)
    assert list(result.seconds) == [
        "pg_dump | gzip", "gunzip | psql", "db.backup", "db.restore (logical)",
        "db.backup --physical", "db.restore (physical)",
    ]  # fmt: skip
    assert all(seconds > 0 for seconds in result.seconds.values())
    assert len(result.rounds) == 2
    for step, median in result.seconds.items():  # the median of two rounds is their mean
        assert median == pytest.approx(sum(r[step] for r in result.rounds) / 2)
    assert result.database_bytes > 10_000_000  # pgbench scale 1 is about 15 MB
    assert result.ratios() == {
        "logical backup": (
            pytest.approx(result.seconds["pg_dump | gzip"] / result.seconds["db.backup"]), 2.0),
        "physical restore": (pytest.approx(
            result.seconds["gunzip | psql"] / result.seconds["db.restore (physical)"]), 2.0),
        "logical restore (with checks)": (pytest.approx(
            result.seconds["gunzip | psql"] / result.seconds["db.restore (logical)"]), 1.0),
    }  # fmt: skip
    assert_reported_in_common_shape(result.comparisons(), capsys, monkeypatch)


def test_inv_bench_backup_reports_every_step_as_json(server_tmp_path):
    """The task as people run it: the shipped `local` environment as the base of a cluster
    of the benchmark's own, in its work folder."""
    import json

    from tests.support.inv import run_inv

    result = run_inv("bench.backup", "--scale", "1", "--rounds", "1", "--json",
                     "--work-dir", str(server_tmp_path),
                     env={"REFINERY_ENVIRONMENTS_DIR": ""}, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert {row["benchmark"] for row in report["comparisons"]} == {
        "logical backup", "physical restore", "logical restore (with checks)",
    }  # fmt: skip
    assert all(row["ratio"] > 0 for row in report["comparisons"])
    assert list(server_tmp_path.iterdir()) == []  # its scratch folder is gone
