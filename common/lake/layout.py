"""Where each catalog file lives in the lake, derived only from catalog keys.

    raw/<source>-<project accession>/<experiment accession>/<file name>   original files
    analyses/<analysis id>/<file name>                                  computed files
    indices/<organism>/<source>-<release>/salmon-<version>/{long,short}/ transcriptome indices
    chips/affymetrix/<R's name for the chip>/                            array chip definitions

The same catalog always gives the same keys, on every backend. Deleting an experiment's data
means removing its one folder.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_component(value: str) -> str:
    """A catalog value made safe as one path component (stable, never empty, never dot-led)."""
    cleaned = _UNSAFE.sub("_", value.strip()).strip("_") or "_"
    return cleaned if not cleaned.startswith(".") else "_" + cleaned


def experiment_prefix(source: str, project_accession: str, experiment_accession: str) -> str:
    project = safe_component(f"{source}-{project_accession}")
    return f"raw/{project}/{safe_component(experiment_accession)}/"


def original_file_key(
    source: str, project_accession: str, experiment_accession: str, file_name: str
) -> str:
    prefix = experiment_prefix(source, project_accession, experiment_accession)
    return prefix + safe_component(file_name)


def analysis_prefix(analysis_id: int) -> str:
    return f"analyses/{int(analysis_id)}/"


def computed_file_key(analysis_id: int, file_name: str) -> str:
    return analysis_prefix(analysis_id) + safe_component(file_name)


def transcriptome_index_prefix(
    organism: str, source: str, release: str, salmon_version: str
) -> str:
    """Where one transcriptome index lives: once per organism, source, release and salmon
    version. It holds `transcripts.fa.gz`, `tx2gene.tsv`, and the salmon indices `long/`
    (k=31) and `short/` (k=23)."""
    return (
        f"indices/{safe_component(organism)}/{safe_component(f'{source}-{release}')}/"
        f"salmon-{safe_component(salmon_version)}/"
    )


def chip_prefix(package: str) -> str:
    """Where one Affymetrix chip's definition lives, under R's name for the chip (affy's
    `cleancdfname`, e.g. `hgu133acdf`): `cdfenv.rds` (makecdfenv's environment),
    `probe_genes.tsv` (probe set → gene) and `chip.json`."""
    return f"chips/affymetrix/{safe_component(package)}/"
