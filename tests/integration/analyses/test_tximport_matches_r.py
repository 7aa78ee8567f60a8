"""Our gene-level summary equals R's tximport run on the same quant.sf files, to 1e-6 relative."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.analyses.r_tximport import run_r_tximport
from ops.analyses.summarise_bench import max_relative_difference
from ops.analyses.synthetic_quants import write_synthetic_experiment
from workers.processors.tximport import read_quant_sf, summarise_to_genes

pytestmark = [pytest.mark.integration, pytest.mark.r]


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
