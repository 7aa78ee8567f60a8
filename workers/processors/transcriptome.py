"""A transcriptome from what a genome source ships: transcripts and their genes.

Ensembl ships a genome FASTA and a GTF. As refine.bio does, every GTF line that mentions
"pseudogene" is dropped first (pseudogenes soak up reads of their parent genes); then each
remaining transcript's exons (`exon` rows, by `transcript_id`) are cut from the genome and
joined in genome order, reverse-complemented on the minus strand; the transcript→gene table
comes from the `transcript` rows. A cDNA FASTA with a transcript→gene table is taken as it
is. Either way the result is `transcripts.fa` and `tx2gene.tsv` (transcript, gene), with the
same transcripts in both, which is what salmon indexes and tximport summarises by.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from common.errors import ValidationError

_ATTRIBUTE = re.compile(r'(\w+) "([^"]*)"')
_COMPLEMENT = bytes.maketrans(b"ACGTNacgtn", b"TGCANtgcan")


class MalformedReference(ValidationError):
    """A genome FASTA, GTF, cDNA FASTA or transcript→gene table that cannot be used."""


@dataclass(frozen=True)
class Transcriptome:
    """What was written, and what was left out."""

    fasta: Path
    tx2gene: Path
    transcripts: int
    genes: int
    pseudogene_lines_dropped: int


def _open_text(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[return-value]


def read_fasta(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, sequence) of every record; the name is the header's first word."""
    name: str | None = None
    parts: list[bytes] = []
    with _open_text(path) as handle:
        for line in handle:
            if line.startswith(b">"):
                if name is not None:
                    yield name, b"".join(parts)
                words = line[1:].split()
                if not words:
                    raise MalformedReference(f"{path.name}: a FASTA header without a name")
                name, parts = words[0].decode(), []
            elif name is None:
                if line.strip():
                    raise MalformedReference(f"{path.name}: not FASTA (no '>' header first)")
            else:
                parts.append(line.strip().upper())
    if name is None:
        raise MalformedReference(f"{path.name}: no sequences")
    yield name, b"".join(parts)


def from_genome(genome: Path, gtf: Path, folder: Path) -> Transcriptome:
    """Extract every non-pseudogene transcript of `gtf` from `genome` into `folder`."""
    exons: dict[str, list[tuple[str, int, int, str]]] = {}
    genes: dict[str, str] = {}
    dropped = 0
    with _open_text(gtf) as handle:
        for number, raw in enumerate(handle, 1):
            if raw.startswith(b"#") or not raw.strip():
                continue
            if b"pseudogene" in raw:
                dropped += 1
                continue
            fields = raw.decode(errors="replace").rstrip("\n").split("\t")
            if len(fields) != 9:
                raise MalformedReference(f"{gtf.name} line {number}: not 9 tab-separated fields")
            feature = fields[2]
            if feature not in ("transcript", "exon"):
                continue
            attrs = dict(_ATTRIBUTE.findall(fields[8]))
            transcript, gene = attrs.get("transcript_id"), attrs.get("gene_id")
            if not transcript or not gene:
                raise MalformedReference(
                    f"{gtf.name} line {number}: a {feature} row without transcript_id/gene_id"
                )
            if feature == "transcript":
                genes[transcript] = gene
            else:
                try:
                    start, end = int(fields[3]), int(fields[4])
                except ValueError:
                    raise MalformedReference(f"{gtf.name} line {number}: bad coordinates") from None
                exons.setdefault(transcript, []).append((fields[0], start, end, fields[6]))
    if not genes:
        raise MalformedReference(f"{gtf.name}: no transcript rows (after dropping pseudogenes)")
    chromosomes = {name: sequence for name, sequence in read_fasta(genome)}
    folder.mkdir(parents=True, exist_ok=True)
    fasta_path, table_path = folder / "transcripts.fa", folder / "tx2gene.tsv"
    written: dict[str, str] = {}
    with open(fasta_path, "wb") as fasta:
        for transcript, gene in genes.items():
            parts = sorted(exons.get(transcript, []), key=lambda exon: exon[1])
            if not parts:
                continue
            chromosome, strand = parts[0][0], parts[0][3]
            if chromosome not in chromosomes:
                raise MalformedReference(
                    f"{gtf.name}: transcript {transcript} is on {chromosome!r}, "
                    f"which {genome.name} does not hold"
                )
            sequence = b"".join(chromosomes[chromosome][s - 1 : e] for _, s, e, _ in parts)
            if strand == "-":
                sequence = sequence.translate(_COMPLEMENT)[::-1]
            fasta.write(b">%s\n%s\n" % (transcript.encode(), sequence))
            written[transcript] = gene
    _write_table(table_path, written)
    return Transcriptome(fasta_path, table_path, len(written), len(set(written.values())), dropped)


def from_cdna(cdna: Path, tx2gene: Path, folder: Path) -> Transcriptome:
    """Take a cDNA FASTA as it is; its transcripts must all be in the `tx2gene` table."""
    table = read_tx2gene(tx2gene)
    folder.mkdir(parents=True, exist_ok=True)
    fasta_path, table_path = folder / "transcripts.fa", folder / "tx2gene.tsv"
    written: dict[str, str] = {}
    with open(fasta_path, "wb") as fasta:
        for name, sequence in read_fasta(cdna):
            gene = table.get(name) or table.get(name.split(".")[0])
            if gene is None:
                raise MalformedReference(f"{cdna.name}: transcript {name} is not in {tx2gene.name}")
            fasta.write(b">%s\n%s\n" % (name.encode(), sequence))
            written[name] = gene
    _write_table(table_path, written)
    return Transcriptome(fasta_path, table_path, len(written), len(set(written.values())), 0)


def read_tx2gene(path: Path) -> dict[str, str]:
    """A two-column (transcript, gene) table, tab- or comma-separated, with or without a
    header row."""
    table: dict[str, str] = {}
    with _open_text(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            fields = re.split(r"[\t,]", line)
            if len(fields) < 2 or not fields[0] or not fields[1]:
                raise MalformedReference(f"{path.name} line {number}: not 'transcript<TAB>gene'")
            if number == 1 and fields[0].lower() in ("transcript", "transcript_id", "tx", "txname"):
                continue
            table[fields[0]] = fields[1]
    if not table:
        raise MalformedReference(f"{path.name}: no rows")
    return table


def _write_table(path: Path, rows: dict[str, str]) -> None:
    path.write_text("".join(f"{transcript}\t{gene}\n" for transcript, gene in rows.items()))
