"""Transcripts cut from a genome + GTF are the organism's transcripts, pseudogenes left out;
a cDNA FASTA with its table gives the same; the simulated truth is deterministic by seed."""

from __future__ import annotations

import hashlib

import pytest

from ops.analyses.synthetic_reads import make_organism, simulate_reads
from workers.processors.transcriptome import (
    MalformedReference,
    from_cdna,
    from_genome,
    read_fasta,
    read_tx2gene,
)

pytestmark = pytest.mark.salmon


def test_transcripts_extracted_from_genome_and_gtf_equal_the_planted_ones(tmp_path):
    organism = make_organism(4, genes=30, pseudogenes=3)
    fasta, gtf = organism.write_genome(tmp_path / "genome")
    made = from_genome(fasta, gtf, tmp_path / "out")
    extracted = dict(read_fasta(made.fasta))
    assert extracted == {t.transcript_id: t.sequence for t in organism.expressed}
    assert read_tx2gene(made.tx2gene) == organism.tx2gene()
    pseudo = [t for t in organism.transcripts if "pseudogene" in t.biotype]
    genes = {t.gene_id for t in pseudo}
    # one gene row, and per transcript one transcript row and its exon rows
    assert made.pseudogene_lines_dropped == len(genes) + sum(1 + len(t.exons) for t in pseudo)
    assert {t.strand for t in organism.expressed} == {"+", "-"}


def test_a_cdna_fasta_with_its_table_gives_the_same_transcriptome(tmp_path):
    organism = make_organism(4, genes=30, pseudogenes=3)
    from_genome_made = from_genome(*organism.write_genome(tmp_path / "g"), tmp_path / "a")
    from_cdna_made = from_cdna(*organism.write_cdna(tmp_path / "c"), tmp_path / "b")
    assert dict(read_fasta(from_cdna_made.fasta)) == dict(read_fasta(from_genome_made.fasta))
    assert from_cdna_made.tx2gene.read_text() == from_genome_made.tx2gene.read_text()


def test_a_cdna_transcript_missing_from_the_table_is_refused(tmp_path):
    organism = make_organism(4, genes=10)
    cdna, table = organism.write_cdna(tmp_path / "c")
    table.write_text("".join(table.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(MalformedReference, match=r"is not in tx2gene\.tsv"):
        from_cdna(cdna, table, tmp_path / "out")


def test_simulated_reads_are_the_same_for_the_same_seed(tmp_path):
    organism = make_organism(4, genes=20)
    first = simulate_reads(organism, tmp_path / "a", "S", fragments=2000, paired=True, seed=7)
    second = simulate_reads(organism, tmp_path / "b", "S", fragments=2000, paired=True, seed=7)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (*first.files, *second.files)]
    assert digest[:2] == digest[2:] and first.true_counts == second.true_counts
    assert sum(first.true_counts.values()) == 2000
