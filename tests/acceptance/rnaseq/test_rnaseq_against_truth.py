"""RNA-seq through `inv` on the shipped `local` environment, checked against planted truth.

A synthetic organism (genome FASTA + GTF with pseudogenes) is indexed with `inv index.build`;
a delivery of its simulated reads — one single-end and one paired-end sample, and one sample
of reads from another random organism — is surveyed with `inv jobs.survey`. The real
background foreman and worker processes download, wait for the index, quantify and summarise.

The claims: over transcripts with at least 10 true reads, salmon's estimated counts
correlate with the planted counts with Spearman's rho >= 0.95 in each sample; the matrix's
gene TPMs are the sums of their transcripts' TPMs and its lengthScaledTPM counts keep each
sample's library size; the foreign sample fails at its first attempt for its mapping rate and
the matrix is made without it, naming it; every result records its index and salmon version;
and asking for everything again queues nothing new and changes no result.
"""

from __future__ import annotations

import numpy as np
import pytest

from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.rnaseq.conftest import (
    close,
    gene_sums,
    read_json,
    read_matrix,
    read_quant,
    wait_for_quiet,
)
from tests.support.ranks import spearman

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]

MIN_TRUE_READS = 10
MIN_SPEARMAN = 0.95


def _results(local_state):
    rows = local_state.query(
        "SELECT e.accession, an.id, an.metadata, f.name, f.lake_key FROM analyses an "
        "JOIN analysis_targets t ON t.analysis_id = an.id JOIN experiments e ON e.id = "
        "t.experiment_id JOIN files f ON f.analysis_id = an.id "
        "WHERE an.application = 'salmon' ORDER BY an.id"
    )
    return {(accession, name): (analysis, metadata, key)
            for accession, analysis, metadata, name, key in rows}  # fmt: skip


@pytest.mark.slow
def test_simulated_delivery_is_indexed_quantified_and_summarised_against_truth(
    local_state, tmp_path
):
    inv, lake = local_state.inv, local_state.state / "local" / "lake"
    organism = make_organism(11)
    foreign = make_organism(99, genes=30)
    fasta, gtf = organism.write_genome(tmp_path / "reference")
    planted = write_delivery(tmp_path / "delivery", organism, [
        PlannedSample("SINGLE", seed=1, fragments=30_000),
        PlannedSample("PAIRED", paired=True, seed=2, fragments=25_000),
        PlannedSample("FOREIGN", seed=3, fragments=5_000, foreign=foreign),
    ])  # fmt: skip
    build = ("index.build", "-e", "local", "--organism", organism.name,
             "--fasta", str(fasta), "--gtf", str(gtf))  # fmt: skip
    try:
        up = inv("local.up")
        assert up.returncode == 0, up.stderr
        first = inv(*build)
        assert first.returncode == 0, first.stderr
        assert "queued job" in first.stdout
        survey = inv("jobs.survey", "-e", "local", str(tmp_path / "delivery"))
        assert survey.returncode == 0, survey.stderr
        wait_for_quiet(local_state.query)
        salmon_jobs = dict(
            (row[0], row[1:]) for row in local_state.query(
                "SELECT split_part(e.accession, '-', 2), j.state, j.attempt, j.failure_reason "
                "FROM jobs j JOIN experiments e ON e.id = (j.payload->'experiment_ids'->>0)::bigint"
                " WHERE j.payload->>'application' = 'salmon'"
            )
        )  # fmt: skip
        index = local_state.query(
            "SELECT id, state, salmon_version, transcripts, genes, pseudogene_lines_dropped "
            "FROM transcriptome_indices"
        )
        results = _results(local_state)
        summaries = local_state.query(
            "SELECT an.id, an.metadata FROM analyses an WHERE application = 'summarise'"
        )
        counts_before = local_state.query(
            "SELECT (SELECT count(*) FROM analyses), (SELECT count(*) FROM files), "
            "(SELECT count(*) FROM transcriptome_indices), "
            "(SELECT string_agg(sha256, ',' ORDER BY id) FROM files WHERE kind = 'computed')"
        )
        again = inv(*build)
        survey_again = inv("jobs.survey", "-e", "local", str(tmp_path / "delivery"))
        assert survey_again.returncode == 0, survey_again.stderr
        wait_for_quiet(local_state.query)
        counts_after = local_state.query(
            "SELECT (SELECT count(*) FROM analyses), (SELECT count(*) FROM files), "
            "(SELECT count(*) FROM transcriptome_indices), "
            "(SELECT string_agg(sha256, ',' ORDER BY id) FROM files WHERE kind = 'computed')"
        )
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr

    # the index: pseudogenes dropped, every expressed transcript extracted
    ((index_id, state, salmon_version, transcripts, genes, dropped),) = index
    assert state == "ready" and transcripts == len(organism.expressed)
    assert genes == len(set(organism.tx2gene().values())) and dropped > 0
    # the samples of this organism were quantified once, the foreign one failed for good
    assert salmon_jobs["SINGLE"][:2] == ("succeeded", 1)
    assert salmon_jobs["PAIRED"][:2] == ("succeeded", 1)
    state, attempt, reason = salmon_jobs["FOREIGN"]
    assert (state, attempt) == ("failed", 1)
    assert "mapping rate" in reason and "below the floor of 20%" in reason, reason

    # truth: Spearman over transcripts with at least MIN_TRUE_READS planted reads
    measured = {}
    for sample in ("SINGLE", "PAIRED"):
        accession = f"RNA1-{sample}-RUN1"
        _, metadata, key = results[(accession, "quant.sf")]
        assert metadata["index_id"] == index_id and metadata["salmon_version"] == salmon_version
        assert metadata["index_kind"] == "long" and metadata["paired"] == (sample == "PAIRED")
        assert (accession, "lib_format_counts.json") in results
        meta = read_json(lake / results[(accession, "meta_info.json")][2])
        # --seqBias always, --gcBias for paired reads only; salmon says what it corrected
        assert (meta["seq_bias_correct"], meta["gc_bias_correct"]) == (True, sample == "PAIRED")
        assert metadata["library_type"] == ("IU" if sample == "PAIRED" else "U")
        assert metadata["percent_mapped"] == pytest.approx(meta["percent_mapped"], abs=1e-3)
        quant = read_quant(lake / key)
        truth = planted[accession].true_counts
        kept = [t for t, n in truth.items() if n >= MIN_TRUE_READS]
        rho = spearman(np.array([truth[t] for t in kept]), np.array([quant[t][1] for t in kept]))
        measured[sample] = rho
        assert rho >= MIN_SPEARMAN, (sample, rho)
    print(f"Spearman (true vs estimated counts, >= {MIN_TRUE_READS} true reads): {measured}")

    # the gene matrix: made once, without the foreign sample, naming it
    ((summary_id, summary),) = summaries
    assert summary["version"] == 1 and summary["index_id"] == index_id
    assert list(summary["left_out"]) == ["RNA1-FOREIGN-RUN1"]
    assert "mapping rate" in summary["left_out"]["RNA1-FOREIGN-RUN1"]
    folder = lake / "analyses" / str(summary_id)
    assert read_json(folder / "gene_matrix.json")["left_out"] == summary["left_out"]
    tpm = read_matrix(folder / "gene_tpm.tsv")
    counts = read_matrix(folder / "gene_counts.tsv")
    assert sorted(tpm) == ["RNA1-PAIRED-RUN1", "RNA1-SINGLE-RUN1"]
    tx2gene = organism.tx2gene()
    for accession in tpm:
        quant = read_quant(lake / results[(accession, "quant.sf")][2])
        sums = gene_sums(quant, tx2gene)
        assert sums.keys() == tpm[accession].keys()
        assert all(close(sums[g], tpm[accession][g]) for g in sums)
        library = sum(reads for _, reads in quant.values())
        assert close(sum(counts[accession].values()), library)

    # again: nothing new queued, no result changed
    assert again.returncode == 0 and "queued nothing" in again.stdout, again.stdout
    assert counts_after == counts_before
