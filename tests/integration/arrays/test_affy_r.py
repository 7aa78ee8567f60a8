"""The R side of the affy application on its own (Rscript, no database): a file that is not a
CEL file is named by its header read; a CEL file cut short past its header reads as a header
but not as intensities, so RMA leaves it out, naming it with affyio's reason, and normalises
the rest; when no file can be read there are no values, only the reasons. One R process
answers the headers and then RMA (the application's session); an R error is that command's
error, not the session's end, and leaving the session ends the process."""

from __future__ import annotations

import pytest

from common.errors import CommandError
from ops.arrays.synthetic_arrays import make_arrays, make_chip
from workers.processors.affy_r import AffySession, build_cdf_env

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

    with AffySession(tmp_path / "r-headers") as session:
        headers = {h.sample: h for h in session.read_headers(files, tmp_path / "headers")}
    assert {s: h.chip for s, h in headers.items() if not h.problem} == {
        "A": "RFY-Test1", "B": "RFY-Test1", "C": "RFY-Test1", "CUT": "RFY-Test1",
    }  # fmt: skip
    assert (
        "Is " in headers["GARBAGE"].problem and "really a CEL file?" in headers["GARBAGE"].problem
    )

    readable = {s: files[s] for s in ("A", "B", "C", "CUT")}
    with AffySession(tmp_path / "r-rma") as session:
        result = session.run_rma(readable, name, tmp_path / "definition" / "cdfenv.rds",
                                 tmp_path / "rma")  # fmt: skip
    assert list(result.unreadable) == ["CUT"] and "truncated" in result.unreadable["CUT"]
    assert result.values is not None and result.values.samples == ["A", "B", "C"]
    assert result.values.values.shape == (30, 3)

    with AffySession(tmp_path / "r-none") as session:
        nothing = session.run_rma({"CUT": cut}, name, tmp_path / "definition" / "cdfenv.rds",
                                  tmp_path / "rma-none")  # fmt: skip
    assert nothing.values is None and list(nothing.unreadable) == ["CUT"]


def test_one_r_session_answers_headers_then_rma_survives_an_error_and_ends_with_its_block(
    tmp_path,
):
    chip = make_chip(tmp_path / "chip", probe_sets=30, probes=4)
    arrays = make_arrays(tmp_path / "cel", chip, samples=["A", "B"], second_group=["B"],
                         probes=4, planted_genes=2)  # fmt: skip
    name, _ = build_cdf_env(chip.cdf, tmp_path / "definition")
    files = dict(arrays.cel_files)
    definition = tmp_path / "definition" / "cdfenv.rds"
    with AffySession(tmp_path / "r-alone") as other:  # a session of its own, to compare with
        alone = other.run_rma(files, name, definition, tmp_path / "alone")

    with AffySession(tmp_path / "session") as session:
        assert [h.chip for h in session.read_headers(files, tmp_path / "headers")] == [name] * 2
        with pytest.raises(CommandError, match=r"^R's rma failed: cannot open"):
            session.run_rma(files, name, tmp_path / "missing.rds", tmp_path / "broken")
        result = session.run_rma(files, name, definition, tmp_path / "rma")  # still answering
        process = session.process
    assert process.returncode == 0  # its input ended, it ended
    assert result.values is not None and alone.values is not None
    assert (result.values.values == alone.values.values).all()

    with pytest.raises(RuntimeError), AffySession(tmp_path / "killed") as session:
        raise RuntimeError("the job was terminated")
    assert session.process.returncode is not None  # not left behind
