"""Our gene-level summary equals R's tximport run on the same quant.sf files, to 1e-6 relative."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from ops.analyses.r_tximport import run_r_tximport
from ops.analyses.summarise_bench import max_relative_difference
from ops.analyses.synthetic_quants import write_synthetic_experiment
from workers.processors.tximport import read_quant_sf, summarise_to_genes

pytestmark = [pytest.mark.integration, pytest.mark.r]
INV = str(Path(sys.executable).with_name("inv"))


@pytest.mark.parametrize("counts_from_abundance", ["lengthScaledTPM", "no"])
def test_gene_matrices_equal_r_tximport_on_the_same_files(
    tmp_path: Path, counts_from_abundance: str
) -> None:
    experiment = write_synthetic_experiment(tmp_path / "quants", samples=7, transcripts=900)
    r = run_r_tximport(
        experiment.quant_files,
        experiment.samples,
        experiment.tx2gene_file,
        tmp_path / "r",
        counts_from_abundance,
    )
    ours = summarise_to_genes(
        [read_quant_sf(path) for path in experiment.quant_files],
        experiment.samples,
        experiment.tx2gene,
        counts_from_abundance,
    )
    assert sorted(r.genes) == ours.genes and r.samples == ours.samples
    # The files hold what the equality must cover: genes silent in one sample and in all,
    # transcripts the table does not list, ids with a version suffix.
    assert any("." in name for name in experiment.tx2gene)
    assert len(experiment.tx2gene) < experiment.transcripts
    assert ((ours.abundance == 0).any(axis=1) & (ours.abundance > 0).any(axis=1)).any()
    assert (ours.abundance == 0).all(axis=1).any()
    for field in ("counts", "abundance", "length"):
        difference = max_relative_difference(ours, r, field)
        assert difference <= 1e-6, f"{field}: {difference:.3g}"


@pytest.mark.slow
def test_bench_summarise_compares_with_r_through_inv() -> None:
    result = subprocess.run(
        [INV, "bench.summarise", "--samples", "3", "--transcripts", "300", "--repeats", "1",
         "--counts", "no", "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (comparison,) = report["comparisons"]
    assert comparison["peer"].startswith("R tximport 1.") and comparison["target"] == 5.0
    assert comparison["refinery_seconds"] > 0 and comparison["peer_seconds"] >= 0
    assert comparison["ratio"] == pytest.approx(
        comparison["peer_seconds"] / comparison["refinery_seconds"]
    )
    details = report["details"]
    assert details["samples"] == 3 and details["counts_from_abundance"] == "no"
    assert set(details["max_relative_difference"]) == {"counts", "abundance", "length"}
    assert max(details["max_relative_difference"].values()) <= 1e-6


def test_bench_summarise_refuses_an_unknown_counts_method_in_one_line() -> None:
    result = subprocess.run(
        [INV, "bench.summarise", "--counts", "scaledTPM"], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: counts from abundance must be lengthScaledTPM or no, not 'scaledTPM'"
    )
