"""Affymetrix chip definitions in the lake, and probe-set values summarised to genes.

A chip the platform knows has, under `chips/affymetrix/<R's name for it>/`
(`common.lake.layout.chip_prefix`), makecdfenv's environment (`cdfenv.rds`), the probe-to-gene
table given with it (`probe_genes.tsv`: `probe_set<TAB>gene` with that header) and
`chip.json`. `inv arrays.chip` puts them there; the `affy` application reads them.

A gene's value is the mean of its probe sets' RMA values (log2); probe sets the table does not
list are left out, and the share of the chip's probe sets that map is recorded with the result.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import ValidationError
from common.lake import Lake
from common.lake.layout import chip_prefix
from workers.processors.affy_r import ProbeSetValues

CDF_ENV = "cdfenv.rds"
PROBE_GENES = "probe_genes.tsv"
CHIP_JSON = "chip.json"


class UnknownChip(ValidationError):
    """The CEL files are of a chip the platform has no definition of: no retry helps until one
    is added (`inv arrays.chip`)."""


@dataclass(frozen=True)
class ChipDefinition:
    """A chip's definition copied out of the lake."""

    package: str
    cdf_env: Path
    probe_genes: dict[str, str]
    description: dict[str, object]


@dataclass(frozen=True)
class GeneValues:
    """Gene-level values (genes × samples, sorted by gene) and how the probe sets mapped."""

    genes: list[str]
    samples: list[str]
    values: np.ndarray
    probe_sets: int
    probe_sets_mapped: int

    @property
    def share_mapped(self) -> float:
        return self.probe_sets_mapped / self.probe_sets if self.probe_sets else 0.0


def read_probe_genes(path: Path) -> dict[str, str]:
    """probe set → gene from a two-column TSV with the header `probe_set<TAB>gene`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path.name}: cannot read it as a probe-to-gene table") from exc
    if not lines or lines[0].split("\t")[:2] != ["probe_set", "gene"]:
        raise ValidationError(
            f"{path.name}: a probe-to-gene table starts with the header 'probe_set<TAB>gene'"
        )
    table: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValidationError(f"{path.name}: line {number}: needs a probe set and a gene")
        probe_set, gene = fields[0].strip(), fields[1].strip()
        if table.get(probe_set, gene) != gene:
            raise ValidationError(f"{path.name}: line {number}: {probe_set} maps to two genes")
        table[probe_set] = gene
    return table


def package_name(chip: str) -> str:
    """The name a chip's definition is kept under, by affy's `cleancdfname` rule: lower case,
    without `_`, `-` and spaces, then `cdf` ("HG-U133A" → "hgu133acdf"). Only a key: affy finds
    the definition under the chip's own name (`workers.processors.affy_r`)."""
    name = chip.lower()
    for character in "_- ":
        name = name.replace(character, "")
    return name + "cdf"


def chip_known(lake: Lake, package: str) -> bool:
    """Whether the lake holds a whole definition of the chip (`chip.json` is written last)."""
    return lake.exists(chip_prefix(package) + CHIP_JSON)


def fetch_chip(lake: Lake, package: str, chip: str, folder: Path) -> ChipDefinition:
    """The chip's definition, copied into `folder`; UnknownChip when the lake has none."""
    prefix = chip_prefix(package)
    if not chip_known(lake, package):
        raise UnknownChip(
            f"chip {chip} ({package}) is not known to this platform: add its CDF and "
            "probe-to-gene table with inv arrays.chip"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for name in (CDF_ENV, PROBE_GENES, CHIP_JSON):
        with lake.open_read(prefix + name) as source, open(folder / name, "wb") as out:
            shutil.copyfileobj(source, out)
    return ChipDefinition(
        package,
        folder / CDF_ENV,
        read_probe_genes(folder / PROBE_GENES),
        json.loads((folder / CHIP_JSON).read_text()),
    )


def summarise_to_genes(values: ProbeSetValues, probe_genes: dict[str, str]) -> GeneValues:
    """Each gene the mean of its probe sets' values, in every sample."""
    genes_of = [probe_genes.get(probe_set) for probe_set in values.probe_sets]
    genes = sorted({gene for gene in genes_of if gene is not None})
    code_of = {gene: code for code, gene in enumerate(genes)}
    mapped = [(i, code_of[gene]) for i, gene in enumerate(genes_of) if gene is not None]
    rows = [i for i, _ in mapped]
    codes = np.array([code for _, code in mapped], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(genes)).astype(np.float64)
    out = np.empty((len(genes), len(values.samples)))
    for column in range(len(values.samples)):
        out[:, column] = (
            np.bincount(codes, weights=values.values[rows, column], minlength=len(genes)) / counts
        )
    return GeneValues(genes, list(values.samples), out, len(values.probe_sets), len(rows))
