"""What every benchmark's report must look like (ops/benchkit.py): the same columns, the
same ratio (peer time ÷ Refinery time, per unit of work), the same JSON."""

from __future__ import annotations

import json

import pytest

from ops.benchkit import COLUMNS, RATIO_DEFINITION, Comparison, render

JSON_KEYS = {
    "benchmark", "refinery_seconds", "peer", "peer_seconds", "unit", "refinery_work",
    "peer_work", "ratio", "target", "meets_target", "measure",
}  # fmt: skip


def table_rows(output: str) -> list[list[str]]:
    """The cells of each line of a rich table (header first)."""
    return [
        [cell.strip() for cell in line.strip().strip("│┃").split("│" if "│" in line else "┃")]
        for line in output.splitlines()
        if line.strip().startswith(("│", "┃"))
    ]


def assert_table_shape(output: str, rows: int) -> list[list[str]]:
    """`output` holds the common table with `rows` comparisons; returns their cells."""
    header, *body = table_rows(output)
    assert header == list(COLUMNS)
    assert len(body) == rows
    assert all(row[-1].endswith("×") for row in body)
    assert "above 1 means Refinery is faster" in output
    return body


def assert_json_shape(output: str, rows: int) -> list[dict]:
    """`output` is the common JSON with `rows` comparisons, each ratio as defined."""
    report = json.loads(output)
    assert report["ratio"] == RATIO_DEFINITION
    assert len(report["comparisons"]) == rows
    for row in report["comparisons"]:
        assert set(row) == JSON_KEYS
        per_unit_ours = row["refinery_seconds"] / row["refinery_work"]
        per_unit_peer = row["peer_seconds"] / row["peer_work"]
        assert row["ratio"] == pytest.approx(per_unit_peer / per_unit_ours, rel=0.01)
    return report["comparisons"]


def assert_reported_in_common_shape(comparisons: list[Comparison], capsys, monkeypatch) -> None:
    """Render `comparisons` as `inv bench.*` does, as a table and as JSON, and check both."""
    monkeypatch.setenv("COLUMNS", "250")
    render("bench", comparisons)
    assert_table_shape(capsys.readouterr().out, len(comparisons))
    render("bench", comparisons, as_json=True)
    assert_json_shape(capsys.readouterr().out, len(comparisons))
