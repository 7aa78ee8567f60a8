"""The R side of the affy application on its own (Rscript, no database): a file that is not a
CEL file is named by its header read; a CEL file cut short past its header reads as a header
but not as intensities, so RMA leaves it out, naming it with affyio's reason, and normalises
the rest; when no file can be read there are no values, only the reasons."""

from __future__ import annotations

import pytest

from ops.arrays.synthetic_arrays import make_arrays, make_chip
from workers.processors.affy_r import build_cdf_env, read_headers, run_rma

pytestmark = [pytest.mark.integration, pytest.mark.r, pytest.mark.arrays]


def test_unreadable_cel_files_are_named_and_the_others_normalised(tmp_path):
    chip = make_chip(tmp_path / "chip", probe_sets=30, probes=4)
    arrays = make_arrays(tmp_path / "cel", chip, samples=["A", "B", "C"], second_group=["C"],
                         probes=4, planted_genes=2)  # fmt: skip
    name, probe_sets = build_cdf_env(chip.cdf, tmp_path / "definition")
    assert (name, len(probe_sets)) == ("RFY-Test1", 30)
    files = dict(arrays.cel_files)
    cut = tmp_path / "cel" / "CUT.CEL.gz"
    content = files["C"].read_bytes()
    cut.write_bytes(content[: len(content) // 2])
    garbage = tmp_path / "cel" / "GARBAGE.CEL"
    garbage.write_text("not a CEL file\n")
    files |= {"CUT": cut, "GARBAGE": garbage}

    headers = {h.sample: h for h in read_headers(files, tmp_path / "headers")}
    assert {s: h.chip for s, h in headers.items() if not h.problem} == {
        "A": "RFY-Test1", "B": "RFY-Test1", "C": "RFY-Test1", "CUT": "RFY-Test1",
    }  # fmt: skip
    assert (
        "Is " in headers["GARBAGE"].problem and "really a CEL file?" in headers["GARBAGE"].problem
    )

    readable = {s: files[s] for s in ("A", "B", "C", "CUT")}
    result = run_rma(readable, name, tmp_path / "definition" / "cdfenv.rds", tmp_path / "rma")
    assert list(result.unreadable) == ["CUT"] and "truncated" in result.unreadable["CUT"]
    assert result.values is not None and result.values.samples == ["A", "B", "C"]
    assert result.values.values.shape == (30, 3)

    nothing = run_rma({"CUT": cut}, name, tmp_path / "definition" / "cdfenv.rds",
                      tmp_path / "rma-none")  # fmt: skip
    assert nothing.values is None and list(nothing.unreadable) == ["CUT"]
