"""The text files of a dataset's archive: README.md, LICENSE.TXT, aggregated_metadata.json,
`<group>/metadata_<group>.tsv` and `left_out.tsv` — everything but the matrices.

A metadata TSV has one row per column of its group's matrix, in the same order, with what
the catalog holds about that run, its sample, individual and project (the sample's own
metadata fields follow, one column each); `left_out.tsv` names every run or sample asked for
that no matrix holds, and why.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LEFT_OUT = "left_out.tsv"
METADATA_JSON = "aggregated_metadata.json"
FIXED_COLUMNS = (
    "run",
    "sample_id",
    "sample",
    "individual",
    "species",
    "tissue",
    "project",
    "project_title",
    "library_layout",
    "platform",
)
LICENSE = """\
The values in this archive were computed from the sequencing data named in
aggregated_metadata.json. Each sample's data keeps the terms of use of the source it came
from (its project, delivery or public archive); check those terms before you share or
publish the values. The archive itself adds no restriction.
"""


def _write_tsv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(list(header))
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return path


def metadata_row(run: dict[str, Any]) -> dict[str, Any]:
    """What a metadata TSV says of one run (the catalog's values, as they are)."""
    row = {column: run.get(column) for column in FIXED_COLUMNS}
    for key, value in sorted((run.get("sample_metadata") or {}).items()):
        if key not in row:
            row[key] = value if isinstance(value, str | int | float) else json.dumps(value)
    return row


def write_metadata_tsv(path: Path, runs: list[dict[str, Any]]) -> Path:
    rows = [metadata_row(run) for run in runs]
    header = list(FIXED_COLUMNS)
    for row in rows:
        header.extend(key for key in row if key not in header)
    return _write_tsv(path, header, ([row.get(column) for column in header] for row in rows))


def write_left_out(path: Path, left_out: dict[str, str]) -> Path:
    return _write_tsv(path, ("left_out", "reason"), sorted(left_out.items()))


def write_json(path: Path, value: dict[str, Any]) -> Path:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    return path


def write_license(path: Path) -> Path:
    path.write_text(LICENSE)
    return path


def write_readme(path: Path, title: str, summary: dict[str, Any]) -> Path:
    """A README saying what the archive holds and how its values were made."""
    lines = [f"# {title}", ""]
    lines += [f"- {key}: {value}" for key, value in summary["facts"].items()]
    lines += ["", "## Files", ""]
    lines += [f"- `{name}`: {what}" for name, what in summary["files"].items()]
    lines += [
        "",
        "Every matrix is tab-separated, genes × samples, its first column `Gene` (ids without",
        "version suffixes; rows whose ids coincided once the suffix was stripped are averaged).",
        "An empty cell is a value the sample does not have. `MANIFEST.sha256` lists every",
        "other file with its sha256 (`sha256sum -c MANIFEST.sha256` checks them).",
        "",
    ]
    path.write_text("\n".join(lines))
    return path
