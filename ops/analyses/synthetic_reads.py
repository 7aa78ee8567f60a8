"""RNA-seq truth: a synthetic organism and reads simulated from known counts, for the tests
and for `inv bench.salmon` (ops/analyses/salmon_bench.py).

`make_organism(seed)` lays random genes on a few random chromosomes: each gene has exons,
and its transcripts are subsets of them (so isoforms share sequence); a few genes are copies
of another gene's sequence with a few changes (paralogs: sequence shared across genes); a
few are pseudogenes (biotype `processed_pseudogene`), which an index must leave out. The
organism is written as Ensembl ships one — a genome FASTA and a GTF with `gene`,
`transcript` and `exon` rows — or as a cDNA FASTA with a transcript→gene table.

`simulate_reads(organism, …)` draws fragments from the (non-pseudogene) transcripts in
proportion to abundance × length, from either strand, with substitution errors, and
writes single- or paired-end gzipped FASTQ; it returns the true fragment count of every
transcript. Everything follows from the seeds and is vectorised with numpy, so 50,000
reads take well under a second.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = np.arange(256, dtype=np.uint8)
for _a, _b in zip(b"ACGTN", b"TGCAN", strict=True):
    _COMPLEMENT[_a] = _b


def reverse_complement(seq: np.ndarray) -> np.ndarray:
    """The reverse complement of a uint8 ACGT array (last axis)."""
    return _COMPLEMENT[seq][..., ::-1]


@dataclass(frozen=True)
class Transcript:
    transcript_id: str
    gene_id: str
    chromosome: str
    strand: str
    exons: tuple[tuple[int, int], ...]  # 1-based inclusive genome coordinates, ascending
    biotype: str
    sequence: bytes


@dataclass(frozen=True)
class Organism:
    """A synthetic organism: chromosomes and the transcripts laid on them."""

    name: str
    chromosomes: dict[str, bytes]
    transcripts: tuple[Transcript, ...]

    @property
    def expressed(self) -> tuple[Transcript, ...]:
        """Transcripts reads may come from (not pseudogenes)."""
        return tuple(t for t in self.transcripts if "pseudogene" not in t.biotype)

    def tx2gene(self) -> dict[str, str]:
        return {t.transcript_id: t.gene_id for t in self.expressed}

    def write_genome(self, folder: Path) -> tuple[Path, Path]:
        """`genome.fa.gz` and `annotation.gtf.gz` as Ensembl ships them."""
        folder.mkdir(parents=True, exist_ok=True)
        fasta, gtf = folder / "genome.fa.gz", folder / "annotation.gtf.gz"
        with _gzip(fasta) as out:
            for name, seq in self.chromosomes.items():
                out.write(f">{name} dna:chromosome chromosome:SYN1:{name}\n".encode())
                for start in range(0, len(seq), 60):
                    out.write(seq[start : start + 60] + b"\n")
        lines = ["#!genome-build SYN1", "#!genome-version SYN1"]
        genes: dict[str, list[Transcript]] = {}
        for t in self.transcripts:
            genes.setdefault(t.gene_id, []).append(t)
        for gene_id, members in genes.items():
            first = members[0]
            start = min(t.exons[0][0] for t in members)
            end = max(t.exons[-1][1] for t in members)
            gene_attrs = f'gene_id "{gene_id}"; gene_biotype "{first.biotype}";'
            lines.append(_gtf_row(first, "gene", start, end, gene_attrs))
            for t in members:
                attrs = (
                    f'gene_id "{gene_id}"; transcript_id "{t.transcript_id}"; '
                    f'gene_biotype "{t.biotype}"; transcript_biotype "{t.biotype}";'
                )
                lines.append(_gtf_row(t, "transcript", t.exons[0][0], t.exons[-1][1], attrs))
                for number, (exon_start, exon_end) in enumerate(t.exons, 1):
                    exon_attrs = attrs + f' exon_number "{number}";'
                    lines.append(_gtf_row(t, "exon", exon_start, exon_end, exon_attrs))
        with _gzip(gtf) as out:
            out.write(("\n".join(lines) + "\n").encode())
        return fasta, gtf

    def write_cdna(self, folder: Path) -> tuple[Path, Path]:
        """`cdna.fa.gz` (expressed transcripts) and `tx2gene.tsv`."""
        folder.mkdir(parents=True, exist_ok=True)
        fasta, table = folder / "cdna.fa.gz", folder / "tx2gene.tsv"
        with _gzip(fasta) as out:
            for t in self.expressed:
                out.write(f">{t.transcript_id} cdna gene:{t.gene_id}\n".encode())
                out.write(t.sequence + b"\n")
        table.write_text(
            "transcript_id\tgene_id\n"
            + "".join(f"{t.transcript_id}\t{t.gene_id}\n" for t in self.expressed)
        )
        return fasta, table


def _gzip(path: Path) -> gzip.GzipFile:
    """A gzip writer whose header holds no time: the same content gives the same bytes."""
    return gzip.GzipFile(path, "wb", compresslevel=1, mtime=0)


def _gtf_row(t: Transcript, feature: str, start: int, end: int, attrs: str) -> str:
    return "\t".join((t.chromosome, "synthetic", feature, str(start), str(end), ".", t.strand,
                      ".", attrs))  # fmt: skip


def make_organism(
    seed: int = 1, *, genes: int = 150, pseudogenes: int = 6, paralogs: int = 6
) -> Organism:
    """A random organism of `genes` genes (1–4 transcripts each), `paralogs` of which copy
    another gene's exons with 1% changes, and `pseudogenes` pseudogenes."""
    rng = np.random.default_rng(seed)
    chromosomes: dict[str, bytearray] = {}
    transcripts: list[Transcript] = []
    total = genes + pseudogenes
    per_chromosome = -(-total // 3)
    templates: list[list[np.ndarray]] = []
    step = max(genes // max(paralogs, 1), 2)  # every step-th gene copies the one before it
    for index in range(total):
        chromosome = str(index // per_chromosome + 1)
        genome = chromosomes.setdefault(chromosome, bytearray())
        genome.extend(_BASES[rng.integers(0, 4, int(rng.integers(200, 600)))].tobytes())
        n_exons = int(rng.integers(2, 6))
        copy_of = index - 1 if paralogs and 0 < index < genes and index % step == 0 else None
        if copy_of is not None and len(templates[copy_of]) >= 2:
            exon_seqs = [e.copy() for e in templates[copy_of]]
            for seq in exon_seqs:
                changed = rng.random(seq.size) < 0.01
                seq[changed] = _BASES[rng.integers(0, 4, int(changed.sum()))]
        else:
            exon_seqs = [
                _BASES[rng.integers(0, 4, int(rng.integers(120, 400)))] for _ in range(n_exons)
            ]
        templates.append(exon_seqs)
        coords = []
        for number, seq in enumerate(exon_seqs):
            if number:
                genome.extend(_BASES[rng.integers(0, 4, int(rng.integers(80, 300)))].tobytes())
            start = len(genome) + 1
            genome.extend(seq.tobytes())
            coords.append((start, len(genome)))
        strand = "+" if rng.random() < 0.5 else "-"
        biotype = "processed_pseudogene" if index >= genes else "protein_coding"
        gene_id = f"SYNG{index + 1:05d}"
        isoforms = [tuple(range(len(coords)))]
        for _ in range(int(rng.integers(1, 4)) if len(coords) >= 3 else 0):
            keep = tuple(
                i for i in range(len(coords)) if i in (0, len(coords) - 1) or rng.random() < 0.5
            )
            if keep not in isoforms:
                isoforms.append(keep)
        for number, chosen in enumerate(isoforms, 1):
            seq = np.concatenate([exon_seqs[i] for i in chosen])
            if strand == "-":
                seq = reverse_complement(seq)
            transcripts.append(
                Transcript(
                    transcript_id=f"SYNT{index + 1:05d}.{number}",
                    gene_id=gene_id,
                    chromosome=chromosome,
                    strand=strand,
                    exons=tuple(coords[i] for i in chosen),
                    biotype=biotype,
                    sequence=seq.tobytes(),
                )
            )
    for genome in chromosomes.values():
        genome.extend(_BASES[rng.integers(0, 4, 300)].tobytes())
    return Organism(
        name=f"Synthetica seed{seed}",
        chromosomes={name: bytes(seq) for name, seq in chromosomes.items()},
        transcripts=tuple(transcripts),
    )


@dataclass(frozen=True)
class SimulatedSample:
    """The FASTQ files written and what was planted in them."""

    files: tuple[Path, ...]
    true_counts: dict[str, int]  # transcript id -> fragments drawn from it
    read_length: int


def simulate_reads(
    organism: Organism,
    folder: Path,
    name: str,
    *,
    fragments: int = 50_000,
    read_length: int = 100,
    paired: bool = False,
    seed: int = 1,
    error_rate: float = 0.005,
    fragment_mean: int = 250,
    fragment_sd: int = 25,
) -> SimulatedSample:
    """Write `name`_1.fastq.gz (and `_2` when paired) with `fragments` reads (pairs)."""
    rng = np.random.default_rng(seed)
    expressed = organism.expressed
    seqs = [np.frombuffer(t.sequence, dtype=np.uint8) for t in expressed]
    lengths = np.array([s.size for s in seqs])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    joined = np.concatenate(seqs)
    abundance = rng.lognormal(0.0, 1.5, len(seqs)) * (rng.random(len(seqs)) > 0.1)
    weights = abundance * np.maximum(lengths - fragment_mean, 1)
    counts = rng.multinomial(fragments, weights / weights.sum())
    which = np.repeat(np.arange(len(seqs)), counts)
    frag = np.clip(rng.normal(fragment_mean, fragment_sd, which.size).astype(np.int64),
                   read_length, None)  # fmt: skip
    frag = np.minimum(frag, lengths[which])
    start = (rng.random(which.size) * (lengths[which] - frag + 1)).astype(np.int64)
    span = np.arange(read_length)
    left = joined[(offsets[which] + start)[:, None] + span]
    right = reverse_complement(
        joined[(offsets[which] + start + frag - read_length)[:, None] + span]
    )
    antisense = rng.random(which.size) < 0.5  # an unstranded library: either strand
    read1 = np.where(antisense[:, None], right, left)
    read2 = np.where(antisense[:, None], left, right)
    order = rng.permutation(which.size)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for mate, reads in ((1, read1), (2, read2))[: 2 if paired else 1]:
        reads = reads[order].copy()
        errors = rng.random(reads.shape) < error_rate
        reads[errors] = _BASES[rng.integers(0, 4, int(errors.sum()))]
        path = folder / f"{name}_{mate}.fastq.gz"
        _write_fastq(path, name, reads, mate)
        files.append(path)
    return SimulatedSample(
        files=tuple(files),
        true_counts={t.transcript_id: int(c) for t, c in zip(expressed, counts, strict=True)},
        read_length=read_length,
    )


def _write_fastq(path: Path, name: str, reads: np.ndarray, mate: int) -> None:
    quality = b"I" * reads.shape[1]
    rows = reads.tobytes()
    width = reads.shape[1]
    with _gzip(path) as out:
        out.write(
            b"".join(
                b"@%s.%d/%d\n%s\n+\n%s\n"
                % (name.encode(), i, mate, rows[i * width : (i + 1) * width], quality)
                for i in range(reads.shape[0])
            )
        )


@dataclass(frozen=True)
class PlannedSample:
    """One sample of a simulated delivery."""

    name: str
    paired: bool = False
    seed: int = 1
    fragments: int = 50_000
    read_length: int = 100
    foreign: Organism | None = None  # reads from another organism: below any mapping floor


def write_delivery(
    folder: Path, organism: Organism, samples: list[PlannedSample], *, project: str = "RNA1"
) -> dict[str, SimulatedSample]:
    """A delivery folder (sample sheet + gzipped FASTQ) of `samples` of `organism`; returns
    what was planted per sample (experiment accession `<project>-<sample>-RUN1`)."""
    rows = ["project,sample_id,individual,species,tissue,run_id,read1,read2"]
    planted: dict[str, SimulatedSample] = {}
    for sample in samples:
        simulated = simulate_reads(
            sample.foreign or organism, folder / "fastq", sample.name,
            fragments=sample.fragments, read_length=sample.read_length,
            paired=sample.paired, seed=sample.seed,
        )  # fmt: skip
        files = [path.relative_to(folder).as_posix() for path in simulated.files]
        rows.append(
            f"{project},{sample.name},{sample.name}-donor,{organism.name},liver,RUN1,"
            f"{files[0]},{files[1] if len(files) > 1 else ''}"
        )
        planted[f"{project}-{sample.name}-RUN1"] = simulated
    (folder / "samplesheet.csv").write_text("\n".join(rows) + "\n")
    return planted
