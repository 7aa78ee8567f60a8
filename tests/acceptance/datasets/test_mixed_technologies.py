"""A dataset that mixes RNA-seq and microarray experiments of one organism, through `inv` on
`local`.

The RNA-seq chain (a synthetic organism indexed, a delivery of two samples quantified and
summarised) and the arrays chain (a GEO series of Affymetrix arrays of a synthetic chip, 15
genes planted 4× higher in the treated arrays, served on loopback; `inv arrays.chip` adds the
chip, its probe sets mapped to the organism's own gene ids where the organism has the gene;
the others map to none) run for the same organism on the shipped `local` environment, whose
file here only gains a `[geo]` section pointing at the loopback server. Then:

- `inv datasets.create --experiments RNA1,GSE250001 --aggregate species` gives one matrix
  holding every processed sample of both, on the documented log2 scale: the RNA-seq columns
  are log2(x + 1) of the RNA-seq gene matrix, the array columns RMA's log2 values as they are
  (so the planted genes still come out near log2 fold change 2 within the array columns, and
  the RNA-seq columns still follow the planted read counts); the metadata names each
  sample's technology, and the two arrays RMA could not use are listed with their reasons;
- `inv datasets.qn-target` takes the samples of both technologies, on that log2 scale, and
  a quantile-normalised dataset of both opens;
- `inv datasets.compendium` joins both with log2 applied exactly once: before imputation the
  array columns are RMA's values and the RNA-seq columns log2(x + 1) of their gene matrix.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from common.environments import REPO_ROOT
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.datasets.test_datasets_after_rnaseq import _archive, _matrix, _run, _tsv
from tests.acceptance.rnaseq.conftest import read_matrix, wait_for_quiet
from tests.integration.arrays.test_arrays_through_inv import (
    CONTROL,
    OTHER_CHIP,
    TREATED,
    TRUNCATED,
    series_arrays,
    serve,
)
from tests.support.ranks import spearman

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon, pytest.mark.r, pytest.mark.arrays]

SERIES = "GSE250001"
RNASEQ = ["RNA1-A1-RUN1", "RNA1-A2-RUN1"]
PLANTED_TOLERANCE = 0.4  # as the arrays' own test: RMA's normalisation and probe noise
MIN_RHO = 0.9  # RNA-seq columns against the planted reads per gene (genes with >= 20 reads)


def _local_with_geo(local_state, http_server, folder: Path):
    """The shipped local environment's file, with GEO at the loopback server."""
    folder.mkdir()
    shipped = (REPO_ROOT / "infrastructure/environments/local.toml").read_text()
    (folder / "local.toml").write_text(
        f'{shipped}\n[geo]\nbase_url = "{http_server.url("/geo")}"\n'
        f'query_url = "{http_server.url("/geo-query/acc.cgi")}"\nretries = 1\n'
        "backoff_seconds = 0.01\n"
    )
    return replace(
        local_state,
        variables={**local_state.variables, "REFINERY_ENVIRONMENTS_DIR": str(folder)},
    )


def _gene_truth(organism, planted) -> dict[str, float]:
    """gene -> reads planted from its transcripts."""
    tx2gene, genes = organism.tx2gene(), {}
    for transcript, count in planted.true_counts.items():
        genes[tx2gene[transcript]] = genes.get(tx2gene[transcript], 0) + count
    return genes


@pytest.mark.slow
def test_a_dataset_of_rnaseq_and_microarray_experiments_opens_with_both(
    local_state, http_server, tmp_path
):
    organism = make_organism(11)
    species = organism.name
    fasta, gtf = organism.write_genome(tmp_path / "reference")
    planted_reads = write_delivery(tmp_path / "one", organism, [
        PlannedSample("A1", seed=1, fragments=6_000),
        PlannedSample("A2", seed=2, fragments=6_000),
    ], project="RNA1")  # fmt: skip
    arrays = series_arrays(tmp_path)
    serve(http_server, arrays, organism=species)
    genes_table, organism_genes = tmp_path / "probe_genes.tsv", set(organism.tx2gene().values())
    mapped = {
        probe_set: gene.replace("GENE", "SYNG")
        for probe_set, gene in arrays.chip.gene_of.items()
        if gene.replace("GENE", "SYNG") in organism_genes
    }
    genes_table.write_text("probe_set\tgene\n" + "".join(f"{p}\t{g}\n" for p, g in mapped.items()))
    planted_genes = [g.replace("GENE", "SYNG") for g in arrays.planted_genes
                     if g.replace("GENE", "SYNG") in organism_genes]  # fmt: skip
    local = _local_with_geo(local_state, http_server, tmp_path / "environments")
    group = species.replace(" ", "_")
    try:
        _run(local, "local.up")
        _run(local, "index.build", "-e", "local", "--organism", species,
             "--fasta", str(fasta), "--gtf", str(gtf))  # fmt: skip
        _run(local, "arrays.chip", "-e", "local", "--cdf", str(arrays.chip.cdf),
             "--genes", str(genes_table))  # fmt: skip
        _run(local, "jobs.survey", "-e", "local", str(tmp_path / "one"))
        _run(local, "jobs.survey", "-e", "local", SERIES)
        wait_for_quiet(local.query)
        mixed = json.loads(_run(local, "datasets.create", "-e", "local", "--experiments",
                                f"RNA1,{SERIES}", "--aggregate", "species", "--json"))  # fmt: skip
        _run(local, "datasets.qn-target", "-e", "local", "--organism", species)
        wait_for_quiet(local.query)
        normalised = json.loads(_run(local, "datasets.create", "-e", "local", "--experiments",
                                     f"RNA1,{SERIES}", "--aggregate", "species",
                                     "--quantile-normalize", "--json"))  # fmt: skip
        compendium = json.loads(_run(local, "datasets.compendium", "-e", "local",
                                     "--organism", species, "--json"))  # fmt: skip
        wait_for_quiet(local.query)
        lake = local.state / "local" / "lake"
        results = dict(local.query(
            "SELECT application, id FROM analyses WHERE application IN ('summarise', 'affy') "
            "ORDER BY id"
        ))  # fmt: skip
        target = local.query("SELECT samples, lake_key, inputs FROM qn_targets")
        archive = _archive(local, int(mixed["dataset_id"]))
        normalised_archive = _archive(local, int(normalised["dataset_id"]))
        compendium_archive = _archive(local, int(compendium["dataset_id"]))
    finally:
        down = local.inv("local.down")
    assert down.returncode == 0, down.stderr

    rnaseq = read_matrix(lake / "analyses" / str(results["summarise"]) / "gene_counts.tsv")
    rma = read_matrix(lake / "analyses" / str(results["affy"]) / "gene_rma.tsv")
    matrix = _matrix(archive, f"{group}/{group}.tsv")
    assert sorted(matrix) == sorted(RNASEQ + CONTROL + TREATED)  # every processed sample of both

    # the scale: RNA-seq as log2(x + 1) of its gene matrix, arrays' RMA values as they are
    for run in RNASEQ:
        assert matrix[run].keys() == rnaseq[run].keys()
        for gene, value in matrix[run].items():
            assert value == pytest.approx(np.log2(rnaseq[run][gene] + 1.0), rel=1e-12, abs=1e-12)
    for sample in CONTROL + TREATED:
        assert matrix[sample] == rma[sample]

    # the truth, within each technology's columns
    genes = sorted(rma[CONTROL[0]])
    change = {g: np.mean([matrix[s][g] for s in TREATED]) - np.mean([matrix[s][g] for s in CONTROL])
              for g in genes}  # fmt: skip
    planted = [change[g] for g in planted_genes]
    print(f"planted genes' log2 fold change in the dataset: {np.round(planted, 3).tolist()}")
    assert len(planted) >= 5 and all(abs(c - 2.0) <= PLANTED_TOLERANCE for c in planted)
    for run in RNASEQ:
        truth = _gene_truth(organism, planted_reads[run])
        kept = [g for g, reads in truth.items() if reads >= 20 and g in matrix[run]]
        rho = spearman(np.array([truth[g] for g in kept]), np.array([matrix[run][g] for g in kept]))
        print(f"{run}: Spearman of dataset values against planted reads {rho:.3f} ({len(kept)})")
        assert rho >= MIN_RHO

    # the metadata names each sample's technology; the arrays RMA left out are listed, why
    metadata = _tsv(archive, f"{group}/metadata_{group}.tsv")
    assert [row["run"] for row in metadata] == list(matrix)
    technology = {row["run"]: row["technology"] for row in metadata}
    assert technology == {**dict.fromkeys(RNASEQ, "RNA-SEQ"),
                          **dict.fromkeys(CONTROL + TREATED, "MICROARRAY")}  # fmt: skip
    assert {row["species"] for row in metadata} == {species}
    left_out = {row["left_out"]: row["reason"] for row in _tsv(archive, "left_out.tsv")}
    assert set(left_out) == {TRUNCATED, OTHER_CHIP}
    assert "cannot be read" in left_out[TRUNCATED] and "RFY-Test2" in left_out[OTHER_CHIP]
    summary = json.loads(archive.read("aggregated_metadata.json"))
    assert summary["values"].startswith("log2")
    assert sorted(summary["gene_matrices"]) == sorted(["RNA1", SERIES])

    # the QN target takes both technologies, on the log2 scale; a normalised dataset opens
    ((samples, key, inputs),) = target
    assert samples == 8 and set(inputs["runs"]) == set(RNASEQ + CONTROL + TREATED)
    values = np.loadtxt(lake / key)
    assert values.min() >= 0.0 and values.max() < 20.0  # log2 values, not counts
    qn = _matrix(normalised_archive, f"{group}/{group}.tsv")
    assert sorted(qn) == sorted(matrix)
    recorded = json.loads(normalised_archive.read("aggregated_metadata.json"))
    assert recorded["quantile_normalized"] is True

    # the compendium: log2 once — arrays' RMA values as they are, RNA-seq log2(x + 1)
    before = _matrix(compendium_archive, f"{group}/raw_{group}.tsv")
    described = _tsv(compendium_archive, f"{group}/metadata_{group}.tsv")
    technologies = {row["run"]: row["technology"] for row in described}
    assert set(technologies.values()) == {"RNA-SEQ", "MICROARRAY"}, technologies
    for run, values in before.items():
        linear = technologies[run] == "RNA-SEQ"
        source = rnaseq[run] if linear else rma[run]
        for gene, value in values.items():
            expected = np.log2(source[gene] + 1.0) if linear else source[gene]
            assert value == pytest.approx(expected, rel=1e-12, abs=1e-12), (run, gene)
