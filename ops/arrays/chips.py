"""Adding an Affymetrix chip to the platform: its CDF made into a chip definition, stored in
the lake with its probe-to-gene table (`workers.processors.affy_chips` reads them).

The definition is built here, where the operator runs `inv arrays.chip` (R with makecdfenv,
as the workers have), and stored once under R's name for the chip. A chip already known is
left as it is: results normalised with it must keep meaning what they meant; adding the same
files again changes nothing, other files are refused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from common.environments import Environment
from common.errors import ValidationError
from common.lake import open_lake
from common.lake.layout import chip_prefix
from workers.processors.affy_chips import (
    CDF_ENV,
    CHIP_JSON,
    PROBE_GENES,
    chip_known,
    package_name,
    read_probe_genes,
)
from workers.processors.affy_r import build_cdf_env


@dataclass(frozen=True)
class ChipAdded:
    """What `add_chip` did."""

    chip: str
    package: str
    prefix: str
    probe_sets: int
    probe_sets_mapped: int
    genes: int
    added: bool


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _readable_file(value: str, what: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise ValidationError(f"{what} {value[:200]!r} is not a file")
    return path


def add_chip(env: Environment, cdf: str, genes: str) -> ChipAdded:
    """Build the chip definition of `cdf`, check `genes` against its probe sets, store both."""
    cdf_path = _readable_file(cdf, "--cdf")
    genes_path = _readable_file(genes, "--genes")
    table = read_probe_genes(genes_path)
    lake = open_lake(env)
    with tempfile.TemporaryDirectory(prefix="refinery-chip-") as tmp:
        out = Path(tmp)
        name, probe_sets = build_cdf_env(cdf_path, out)
        package = package_name(name)
        on_chip = set(probe_sets)
        strangers = sorted(set(table) - on_chip)
        if strangers:
            raise ValidationError(
                f"{genes_path.name}: {len(strangers)} probe sets are not on chip {name} "
                f"(e.g. {', '.join(strangers[:3])}); is the table for this chip?"
            )
        mapped = sum(probe_set in table for probe_set in on_chip)
        description = {
            "chip": name,
            "package": package,
            "probe_sets": len(on_chip),
            "probe_sets_mapped": mapped,
            "genes": len(set(table.values())),
            "cdf_sha256": _sha256(cdf_path),
            "probe_genes_sha256": _sha256(genes_path),
        }
        prefix = chip_prefix(package)
        result = ChipAdded(name, package, prefix, len(on_chip), mapped, len(set(table.values())),
                           added=True)  # fmt: skip
        if chip_known(lake, package):
            with lake.open_read(prefix + CHIP_JSON) as handle:
                stored = json.load(handle)
            same = all(stored.get(k) == description[k]
                       for k in ("cdf_sha256", "probe_genes_sha256"))  # fmt: skip
            if not same:
                raise ValidationError(
                    f"chip {name} ({package}) is already known, from other files; a chip's "
                    "definition is never replaced (results made with it would change meaning)"
                )
            return ChipAdded(**{**asdict(result), "added": False})
        (out / CHIP_JSON).write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
        lake.put_file(prefix + CDF_ENV, out / CDF_ENV)
        shutil.copyfile(genes_path, out / PROBE_GENES)  # the lake takes the file it is given
        lake.put_file(prefix + PROBE_GENES, out / PROBE_GENES)
        lake.put_file(prefix + CHIP_JSON, out / CHIP_JSON)  # last: the chip is known from now
    return result
