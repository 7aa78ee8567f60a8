"""One zip archive per dataset: every file listed with its sha256, written whole or not at all.

The archive is written beside its name (`<name>.partial`) and renamed when complete; the last
member is `MANIFEST.sha256`, one `<sha256>  <path>` line per other member (what `sha256sum -c`
reads), so an archive whose manifest is there was finished, and `verify_archive` proves each
member unchanged. The lake then stores it atomically under its key: a build killed at any
moment leaves at most a scratch file, and its re-run writes the archive again from the start.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from common.failpoints import failpoint
from common.files import file_sha256

MANIFEST = "MANIFEST.sha256"


def write_archive(members: Sequence[tuple[str, Path]], out: Path) -> str:
    """Zip `members` ((name in the archive, file)) and their manifest at `out`; its sha256."""
    names = [name for name, _ in members]
    if len(set(names)) != len(names) or MANIFEST in names:
        raise ValueError("archive members must have distinct names other than the manifest")
    partial = out.with_name(out.name + ".partial")
    lines = []
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, path in members:
                lines.append(f"{file_sha256(path)}  {name}\n")
                archive.write(path, name)
                failpoint("datasets.archive.member_written")
            archive.writestr(MANIFEST, "".join(lines))
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return file_sha256(out)


def verify_archive(path: Path) -> list[str]:
    """What is wrong with the archive at `path` (nothing: an empty list)."""
    problems = []
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if MANIFEST not in names:
                return [f"{path.name}: no {MANIFEST} (an unfinished archive)"]
            listed = {}
            for line in archive.read(MANIFEST).decode().splitlines():
                digest, _, name = line.partition("  ")
                listed[name] = digest
            for name in sorted(names - {MANIFEST}):
                if name not in listed:
                    problems.append(f"{name}: not in the manifest")
                elif hashlib.sha256(archive.read(name)).hexdigest() != listed[name]:
                    problems.append(f"{name}: its sha256 differs from the manifest's")
            problems.extend(
                f"{name}: in the manifest, not in the archive"
                for name in sorted(set(listed) - names)
            )
    except (zipfile.BadZipFile, OSError) as error:
        return [f"{path.name}: not a readable zip archive ({error})"]
    return problems
