"""The gene-level summary on hand-made quantifications whose answers are worked out here."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from common.errors import RefineryError, ValidationError
from ops.analyses.synthetic_quants import write_synthetic_experiment
from workers.processors.tximport import (
    GeneMatrix,
    MalformedQuant,
    QuantMismatch,
    QuantTable,
    read_quant_files,
    read_quant_sf,
    summarise_to_genes,
    write_gene_matrix,
)

HEADER = "Name\tLength\tEffectiveLength\tTPM\tNumReads\n"
# g1: t1, t2.1; g2: t3 (silent in sample B); g3: t4 (silent everywhere); t5 unmapped.
TX2GENE = {"t1": "g1", "t2.1": "g1", "t3": "g2", "t4": "g3"}


def quant(tpm: list[float], reads: list[float], efflen: list[float]) -> QuantTable:
    names = ["t1", "t2.1", "t3", "t4", "t5"]
    return QuantTable(
        names=names,
        length=np.array(efflen) + 100,
        effective_length=np.array(efflen, dtype=float),
        tpm=np.array(tpm, dtype=float),
        num_reads=np.array(reads, dtype=float),
    )


A = quant([100, 300, 50, 0, 7], [10, 40, 5, 0, 3], [1000, 2000, 500, 800, 90])
B = quant([200, 200, 0, 0, 9], [30, 20, 0, 0, 1], [1100, 2100, 520, 900, 80])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_abundance_and_counts_are_transcript_sums_and_unmapped_transcripts_are_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        m = summarise_to_genes([A, B], ["A", "B"], TX2GENE, counts_from_abundance="no")
    assert m.genes == ["g1", "g2", "g3"] and m.samples == ["A", "B"]
    assert m.abundance.tolist() == [[400, 400], [50, 0], [0, 0]]
    assert m.counts.tolist() == [[50, 50], [5, 0], [0, 0]]
    assert "transcripts missing from tx2gene: 1" in caplog.text


def test_length_is_abundance_weighted_and_missing_lengths_are_filled_as_tximport_does() -> None:
    m = summarise_to_genes([A, B], ["A", "B"], TX2GENE, counts_from_abundance="no")
    g1_a = (100 * 1000 + 300 * 2000) / 400
    g1_b = (200 * 1100 + 200 * 2100) / 400
    # g2 has abundance in A only: B's length is the geometric mean of the others (A's).
    # g3 has none anywhere: its transcripts' effective length averaged across samples.
    expected = [[g1_a, g1_b], [500, 500], [850, 850]]
    assert np.allclose(m.length, expected, rtol=1e-12)


def test_length_scaled_tpm_keeps_each_sample_library_size() -> None:
    m = summarise_to_genes([A, B], ["A", "B"], TX2GENE)
    no = summarise_to_genes([A, B], ["A", "B"], TX2GENE, counts_from_abundance="no")
    scaled = no.abundance * no.length.mean(axis=1)[:, None]
    expected = scaled * no.counts.sum(axis=0) / scaled.sum(axis=0)
    assert np.allclose(m.counts, expected, rtol=1e-12)
    assert np.allclose(m.counts.sum(axis=0), [55, 50], rtol=1e-12)
    assert not np.allclose(m.counts, no.counts)


MALFORMED = [
    ("Name\tLength\tTPM\tNumReads\nt1\t1\t2\t3\n", "no column EffectiveLength"),
    (HEADER + "t1\t1200\t1000\tlots\t3\n", "not a salmon quant.sf"),
    (HEADER + "t1\t1200\t1000\t5\t3\nt2\t1200\t1000\tnan\t3\n", "line 3: TPM"),
    (HEADER + "t1\t1200\t1000\t5\n", "line 2: no NumReads"),
    (HEADER + "t1\t1200\t1000\t5\t1\t9\n", "not a salmon quant.sf"),
    ("", "no column Name"),
]
MALFORMED_TEXTS = [text for text, _ in MALFORMED]


def test_quant_sf_is_read_with_its_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "quant.sf", HEADER + "t1\t1200\t1000.5\t12.25\t3.0\nt2\t90\t40\t0\t0\n")
    table = read_quant_sf(path)
    assert table.names == ["t1", "t2"]
    assert table.effective_length.tolist() == [1000.5, 40.0]
    assert table.tpm.tolist() == [12.25, 0.0] and table.num_reads.tolist() == [3.0, 0.0]
    assert table.length.tolist() == [1200.0, 90.0]


@pytest.mark.parametrize(("text", "says"), MALFORMED)
def test_a_malformed_quant_sf_is_refused_naming_the_file(
    tmp_path: Path, text: str, says: str
) -> None:
    path = write(tmp_path / "broken_quant.sf", text)
    with pytest.raises(MalformedQuant) as caught:
        read_quant_sf(path)
    message = str(caught.value)
    assert isinstance(caught.value, ValidationError) and isinstance(caught.value, RefineryError)
    assert str(path) in message and says in message and "\n" not in message


@pytest.mark.parametrize("text", MALFORMED_TEXTS)
def test_a_malformed_file_among_an_experiments_is_named_as_when_read_alone(
    tmp_path: Path, text: str
) -> None:
    # The experiment's files are read several at a time; the broken one is still named.
    experiment = write_synthetic_experiment(tmp_path / "good", samples=3, transcripts=30)
    broken = write(tmp_path / "broken_quant.sf", text)
    with pytest.raises(MalformedQuant) as alone:
        read_quant_sf(broken)
    with pytest.raises(MalformedQuant) as together:
        read_quant_files([*experiment.quant_files[:2], broken, experiment.quant_files[2]])
    assert str(together.value) == str(alone.value)


def test_an_experiments_files_read_at_once_equal_each_read_alone(tmp_path: Path) -> None:
    experiment = write_synthetic_experiment(tmp_path, samples=4, transcripts=90)
    together = read_quant_files(experiment.quant_files)
    for table, path in zip(together, experiment.quant_files, strict=True):
        alone = read_quant_sf(path)
        assert table.names == alone.names
        for field in ("length", "effective_length", "tpm", "num_reads"):
            assert np.array_equal(getattr(table, field), getattr(alone, field)), field


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "quant.sf"
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    with pytest.raises(MalformedQuant, match="not UTF-8 text"):
        read_quant_sf(path)


def test_samples_quantified_against_different_transcripts_are_refused() -> None:
    other = QuantTable(
        ["t1", "t2.1", "t3", "t4", "t6"], A.length, A.effective_length, A.tpm, A.num_reads
    )
    with pytest.raises(QuantMismatch, match="sample B: its transcripts differ"):
        summarise_to_genes([A, other], ["A", "B"], TX2GENE)


@pytest.mark.parametrize(
    ("samples", "tx2gene", "cfa", "says"),
    [
        (["A", "B"], {"x": "g"}, "no", "none of the quantified transcripts"),
        (["A"], TX2GENE, "no", "1 sample names for 2"),
        (["A", "A"], TX2GENE, "no", "named twice"),
        (["A", "B"], TX2GENE, "scaledTPM", "counts from abundance must be lengthScaledTPM or no"),
    ],
)
def test_inputs_that_cannot_be_summarised_are_refused(
    samples: list[str], tx2gene: dict[str, str], cfa: str, says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        summarise_to_genes([A, B], samples, tx2gene, counts_from_abundance=cfa)


def test_matrices_are_written_with_a_gene_column_and_read_back_exactly(tmp_path: Path) -> None:
    m = summarise_to_genes([A, B], ["A", "B"], TX2GENE)
    written = write_gene_matrix(m, tmp_path / "out")
    assert [p.name for p in written] == ["gene_counts.tsv", "gene_tpm.tsv"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "gene_counts.tsv",
        "gene_tpm.tsv",
    ]
    for path, values in zip(written, (m.counts, m.abundance), strict=True):
        frame = pl.read_csv(path, separator="\t")
        assert frame.columns == ["Gene", "A", "B"]
        assert frame["Gene"].to_list() == m.genes
        assert np.array_equal(frame.select(["A", "B"]).to_numpy(), values)


def test_a_gene_matrix_is_genes_by_samples() -> None:
    m = summarise_to_genes([A, B, A], ["A", "B", "C"], TX2GENE)
    assert isinstance(m, GeneMatrix)
    for values in (m.counts, m.abundance, m.length):
        assert values.shape == (3, 3)


def test_gene_counts_are_the_sums_of_their_transcripts_numreads_in_random_files(
    tmp_path: Path,
) -> None:
    experiment = write_synthetic_experiment(tmp_path, samples=5, transcripts=600, seed=7)
    m = summarise_to_genes(
        read_quant_files(experiment.quant_files),
        experiment.samples,
        experiment.tx2gene,
        counts_from_abundance="no",
    )
    for column, path in enumerate(experiment.quant_files):
        truth: dict[str, float] = {}
        lines = path.read_text().splitlines()[1:]
        for line in lines:
            name, _, _, _, reads = line.split("\t")
            if name in experiment.tx2gene:
                gene = experiment.tx2gene[name]
                truth[gene] = truth.get(gene, 0.0) + float(reads)
        assert sorted(truth) == m.genes
        for row, gene in enumerate(m.genes):
            assert m.counts[row, column] == pytest.approx(truth[gene], rel=1e-12, abs=1e-9)
    assert (m.counts > 0).any() and (m.counts == 0).any()


def test_files_of_one_experiment_share_one_names_list(tmp_path: Path) -> None:
    experiment = write_synthetic_experiment(tmp_path, samples=3, transcripts=60)
    tables = read_quant_files(experiment.quant_files)
    assert tables[0].names is tables[1].names is tables[2].names
    assert tables[0].names == read_quant_sf(experiment.quant_files[2]).names


def test_a_matrix_that_cannot_be_written_leaves_nothing_partial(tmp_path: Path) -> None:
    m = summarise_to_genes([A, B], ["A", "B"], TX2GENE)
    out = tmp_path / "out"
    (out / "gene_tpm.tsv").mkdir(parents=True)  # its name is taken by a folder
    with pytest.raises(OSError):
        write_gene_matrix(m, out)
    assert sorted(p.name for p in out.iterdir()) == ["gene_counts.tsv", "gene_tpm.tsv"]
    assert (out / "gene_tpm.tsv").is_dir()
    counts = pl.read_csv(out / "gene_counts.tsv", separator="\t")
    assert counts.height == len(m.genes)
