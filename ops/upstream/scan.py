"""The conflict scan: what a merge or a template update left that a human must resolve.

Tools report conflicts unreliably — copier exits 0 after writing conflict markers, cruft leaves
`.rej` files and reports success — so nothing is trusted to have merged cleanly until the
whole tree has been looked at: the paths git shows as unmerged, conflict markers in any file
git tracks or would track, and `.rej`/`.orig` files anywhere (ignored folders included).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ops.gitkit import git, unmerged_paths

# A marker opens a line and is followed by a space or the end of the line; `=======` alone
# is not looked for, as it also underlines headings.
_MARKER = re.compile(rb"^(?:<{7}|>{7}|\|{7})(?: |\r?$)", re.MULTILINE)
_LEFTOVER_SUFFIXES = (".rej", ".orig")
_MAX_SCANNED_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class MarkerHit:
    """The first conflict marker in one file."""

    path: str
    line: int
    text: str


@dataclass
class ConflictScan:
    """Everything the scan found; empty lists mean the tree is clean."""

    unmerged: list[str] = field(default_factory=list)
    markers: list[MarkerHit] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.unmerged or self.markers or self.leftovers)

    @property
    def files(self) -> list[str]:
        """Every file named by any of the three checks, once."""
        named = [*self.unmerged, *(hit.path for hit in self.markers), *self.leftovers]
        return sorted(dict.fromkeys(named))

    def summary(self) -> str:
        parts = []
        if self.unmerged:
            parts.append(f"unmerged: {', '.join(self.unmerged)}")
        if self.markers:
            parts.append(
                "conflict markers: " + ", ".join(f"{h.path}:{h.line}" for h in self.markers)
            )
        if self.leftovers:
            parts.append(f"leftover files: {', '.join(self.leftovers)}")
        return "; ".join(parts) or "clean"


def scan_tree(repo: Path) -> ConflictScan:
    """Look at the whole checkout `repo` (see the module docstring)."""
    return ConflictScan(
        unmerged=unmerged_paths(repo),
        markers=_marker_hits(repo),
        leftovers=_leftover_files(repo),
    )


def _known_files(repo: Path) -> list[str]:
    """Tracked files and untracked files that are not ignored."""
    output = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    return sorted({name for name in output.split("\0") if name})


def _marker_hits(repo: Path) -> list[MarkerHit]:
    hits = []
    for name in _known_files(repo):
        path = repo / name
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > _MAX_SCANNED_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:  # binary: markers would be meaningless
            continue
        match = _MARKER.search(data)
        if match:
            line = data.count(b"\n", 0, match.start()) + 1
            text = data[match.start() : match.start() + 60].split(b"\n")[0]
            hits.append(MarkerHit(name, line, text.decode(errors="replace").rstrip()))
    return hits


def _leftover_files(repo: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(repo, onerror=lambda _: None):
        dirs[:] = [name for name in dirs if name != ".git"]
        found.extend(
            os.path.relpath(os.path.join(folder, name), repo)
            for name in files
            if name.endswith(_LEFTOVER_SUFFIXES)
        )
    return sorted(found)
