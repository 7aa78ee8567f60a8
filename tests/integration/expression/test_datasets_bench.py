"""`inv bench.datasets` runs end to end at a tiny size: both sides, the same matrix, the common
report (its numbers are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import ValidationError
from ops.datasets.bench import TOLERANCE, compare_outputs, run_bench
from tests.support.bench import assert_reported_in_common_shape
from tests.support.inv import one_error_line, run_inv, table_columns

pytestmark = [pytest.mark.integration, pytest.mark.r]


def test_bench_runs_both_sides_on_the_same_files_and_checks_they_agree(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    result = run_bench(samples=24, genes=300, experiments=4, workdir=tmp_path)
    assert result.max_difference <= TOLERANCE
    assert result.ours.seconds > 0 and result.peer.seconds > 0
    assert result.ours.peak_rss_mb > 20 and result.peer.peak_rss_mb > 20
    assert set(result.as_dict()["peer_steps"]) == {"pandas join", "preprocessCore", "pandas write"}
    assert result.peer.peak_rss_mb == max(step.peak_rss_mb for step in result.peer_steps.values())
    comparisons = result.comparisons()
    assert [c.measure for c in comparisons] == ["s", "MB"]
    assert_reported_in_common_shape(comparisons, capsys, monkeypatch)
    ours, peer = tmp_path / "out" / "refinery.tsv", tmp_path / "out" / "peer.tsv"
    assert ours.read_text().splitlines()[0] == peer.read_text().splitlines()[0]
    # A wrong answer is caught, not benchmarked.
    lines = peer.read_text().splitlines()
    cells = lines[1].split("\t")
    column = next(i for i, cell in enumerate(cells) if i > 0 and cell)
    cells[column] = repr(float(cells[column]) + 1e-6)
    lines[1] = "\t".join(cells)
    peer.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError, match="differ by up to"):
        compare_outputs(ours, peer)


def test_inv_bench_datasets_reports_time_and_memory_for_equal_matrices() -> None:
    result = run_inv(
        "bench.datasets", "--samples", "12", "--genes", "200", "--experiments", "3",
        "--regenerate", "--json", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [c["measure"] for c in report["comparisons"]] == ["s", "MB"]
    assert report["details"]["max_difference"] <= TOLERANCE


@pytest.mark.slow
def test_inv_bench_datasets_at_several_sample_counts_prints_the_memory_curve() -> None:
    """`--samples 6,12` runs the benchmark at each count and tabulates each side's peak memory
    and the ratios; the JSON holds both runs, each with equal matrices."""
    args = ("bench.datasets", "--samples", "6,12", "--genes", "200", "--experiments", "3")
    table = run_inv(*args, timeout=600)
    assert table.returncode == 0, table.stderr
    answer = run_inv(*args, "--json", timeout=600)
    assert answer.returncode == 0, answer.stderr
    runs = json.loads(answer.stdout)["details"]["runs"]
    assert [run["samples"] for run in runs] == [6, 12]
    assert all(run["max_difference"] <= TOLERANCE for run in runs)
    columns = dict(table_columns(table.stdout, "peak memory by samples (200 genes, 3 experiments)"))
    assert columns["samples"] == "612"
    assert columns["memory:peer÷refinery"].count("×") == 2
    for rejected in ("12,6", "6,x", "0,6"):
        refused = run_inv("bench.datasets", "--samples", rejected)
        assert "--samples takes" in one_error_line(refused)
