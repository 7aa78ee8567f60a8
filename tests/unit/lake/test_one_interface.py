"""The lake is one interface: no production code outside common/lake/ asks which backend it
holds, and the core names nothing of the workers' staging files."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PRODUCTION = ("common", "foreman", "workers", "ops")
BACKENDS = re.compile(r"\b(FilesystemLake|S3Lake)\b")
TYPE_SWITCH = re.compile(r"isinstance\([^)]*Lake\b")


def _sources_outside_the_lake() -> list[Path]:
    lake = REPO / "common" / "lake"
    return [
        path
        for top in PRODUCTION
        for path in sorted((REPO / top).rglob("*.py"))
        if lake not in path.parents
    ]


def test_no_production_code_outside_common_lake_names_a_backend_or_switches_on_one():
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _sources_outside_the_lake()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if BACKENDS.search(line) or TYPE_SWITCH.search(line)
    ]
    assert len(_sources_outside_the_lake()) > 100  # the walk found the tree
    assert offenders == []


def test_the_core_knows_neither_the_downloaders_partial_files_nor_their_jobs():
    sources = [
        p for suffix in ("py", "sql") for p in sorted((REPO / "common").rglob(f"*.{suffix}"))
    ]
    assert any(path.suffix == ".sql" for path in sources)
    core = "\n".join(path.read_text() for path in sources)
    assert "download-file-" not in core
    assert not re.search(r"kind\s*=\s*'download'", core)
