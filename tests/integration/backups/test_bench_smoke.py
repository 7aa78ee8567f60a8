"""A tiny run of the backup benchmark: every step runs and is timed (no timing asserted)."""

from __future__ import annotations

import pytest

from ops.db.bench import run_backup_benchmark

pytestmark = pytest.mark.integration


def test_backup_benchmark_runs_every_step_at_tiny_scale(make_env, tmp_path):
    base = make_env()
    result = run_backup_benchmark(tmp_path / "bench", scale=1, rounds=2, base_env=base.name)
    assert list(result.seconds) == [
        "pg_dump | gzip", "gunzip | psql", "db.backup", "db.restore (logical)",
        "db.backup --physical", "db.restore (physical)",
    ]  # fmt: skip
    assert all(seconds > 0 for seconds in result.seconds.values())
    assert len(result.rounds) == 2
    for step, median in result.seconds.items():  # the median of two rounds is their mean
        assert median == pytest.approx(sum(r[step] for r in result.rounds) / 2)
    assert result.database_bytes > 10_000_000  # pgbench scale 1 is about 15 MB
    assert set(result.ratios()) == {
        "logical backup / pg_dump|gzip",
        "physical restore / gunzip|psql",
        "logical restore / gunzip|psql",
    }
