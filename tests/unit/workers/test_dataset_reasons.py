"""Why a run asked for is in no dataset matrix, said for its technology (RNA-seq or array)."""

from __future__ import annotations

import pytest

from workers.datasets.sources import GENE_RESULTS, LINEAR, LOG2, why_left_out


def _row(raw: str | None, run: str = "GSM1") -> dict[str, object]:
    return {"run": run, "project": "GSE1", "array_raw": raw}


def _result(left_out: dict[str, str]) -> dict[str, object]:
    return {"analysis_id": 1, "metadata": {"samples": ["GSM2"], "left_out": left_out}}


def test_each_application_declares_its_file_technology_and_scale() -> None:
    assert (GENE_RESULTS["summarise"].file, GENE_RESULTS["summarise"].scale) == (
        "gene_counts.tsv", LINEAR
    )  # fmt: skip
    assert (GENE_RESULTS["affy"].file, GENE_RESULTS["affy"].scale) == ("gene_rma.tsv", LOG2)
    assert {r.technology for r in GENE_RESULTS.values()} == {"RNA-SEQ", "MICROARRAY"}


@pytest.mark.parametrize(
    ("row", "results", "expected"),
    [
        (_row("table"), [], "only its submitter's processed table (geo_table"),
        (_row("processed"), [], "only ArrayExpress's processed table, stored but not converted"),
        (_row("CEL"), [_result({"GSM1": "its CEL file cannot be read: truncated"})],
         "left out of GSE1's gene matrix: its CEL file cannot be read: truncated"),
        (_row("CEL"), [], "in no RMA of GSE1's arrays yet"),
        (_row("CEL"), [_result({})], "in no RMA of GSE1's arrays yet"),
        (_row(None, "RNA1-A-RUN1") | {"project": "RNA1"}, [],
         "experiment RNA1 has no gene matrix yet (inv analyses.summarise --experiment RNA1)"),
        (_row(None, "RNA1-A-RUN1") | {"project": "RNA1"}, [_result({})],
         "not in RNA1's newest gene matrix"),
    ],
)  # fmt: skip
def test_a_run_no_result_holds_is_left_out_with_the_reason_of_its_technology(
    row: dict[str, object], results: list[dict[str, object]], expected: str
) -> None:
    assert why_left_out(row, results).startswith(expected)
