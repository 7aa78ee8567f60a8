"""Synthetic salmon quantifications of an experiment, for the tximport check and benchmark.

Genes of 1–5 transcripts, ids with and without a version suffix (`ENST….3`), NumReads drawn
per transcript with zeros in some samples (some genes silent in a sample, a few everywhere),
TPM computed from NumReads and effective length as salmon defines it, and a few transcripts
that the transcript→gene table does not list. Seeded: the same arguments give the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl


@dataclass(frozen=True)
class SyntheticExperiment:
    """Where the files are: one quant.sf per sample, and the tx2gene table (TSV, no header)."""

    quant_files: list[Path]
    samples: list[str]
    tx2gene: dict[str, str]
    tx2gene_file: Path
    transcripts: int
    genes: int


def write_synthetic_experiment(
    folder: Path, *, samples: int, transcripts: int, seed: int = 22, unmapped: int = 3
) -> SyntheticExperiment:
    """Write `samples` quant.sf files of about `transcripts` transcripts under `folder`."""
    rng = np.random.default_rng(seed)
    per_gene = rng.integers(1, 6, size=max(1, transcripts // 3))
    per_gene = per_gene[np.cumsum(per_gene) <= transcripts]
    gene_count = len(per_gene)
    gene_of = np.repeat(np.arange(gene_count), per_gene)
    total = len(gene_of)
    versioned = rng.random(total) < 0.5
    names = [
        f"ENST{i:011d}.{rng.integers(1, 9)}" if versioned[i] else f"TX{i:07d}" for i in range(total)
    ]
    genes = [f"ENSG{g:011d}" if g % 2 else f"GENE{g:06d}" for g in range(gene_count)]
    tx2gene = {names[i]: genes[gene_of[i]] for i in range(total - min(unmapped, total - 1))}
    length = rng.integers(200, 8000, size=total)
    effective_length = np.maximum(length - rng.uniform(50, 250, size=total), 1.0).round(3)
    expression = rng.lognormal(2.0, 2.0, size=total)
    silent_everywhere = np.isin(gene_of, rng.choice(gene_count, max(1, gene_count // 50)))
    folder.mkdir(parents=True, exist_ok=True)
    tx2gene_file = folder / "tx2gene.tsv"
    pl.DataFrame({"tx": list(tx2gene), "gene": list(tx2gene.values())}).write_csv(
        tx2gene_file, separator="\t", include_header=False
    )
    quant_files, sample_names = [], []
    for s in range(samples):
        silent = np.isin(gene_of, rng.choice(gene_count, max(1, gene_count // 5))) | (
            silent_everywhere
        )
        reads = rng.poisson(expression * rng.uniform(0.5, 2.0)).astype(np.float64)
        reads *= rng.uniform(0.8, 1.2, size=total)
        reads[silent | (rng.random(total) < 0.1)] = 0.0
        reads = reads.round(3)
        rate = reads / effective_length
        tpm = rate / rate.sum() * 1e6 if rate.sum() > 0 else rate
        sample = f"S{s + 1:04d}"
        path = folder / sample / "quant.sf"
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(
            {
                "Name": names,
                "Length": length,
                "EffectiveLength": effective_length,
                "TPM": tpm.round(6),
                "NumReads": reads,
            }
        ).write_csv(path, separator="\t", float_precision=6)
        quant_files.append(path)
        sample_names.append(sample)
    return SyntheticExperiment(
        quant_files, sample_names, tx2gene, tx2gene_file, total, len(set(tx2gene.values()))
    )
