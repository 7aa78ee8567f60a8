"""What killed backups and prunes leave in the backups folder, and whether anyone still owns it.

A backup is written as `.partial-<name>` and renamed when complete; a prune renames a backup to
`.deleting-<name>` before removing it. A process killed in between (SIGKILL, a power cut)
leaves that folder behind, invisible to the listing of finished backups and never pruned. A
backup in progress holds an exclusive lock on `<partial>/.owner` for as long as it runs; the
kernel drops the lock when the process dies, however it dies, so a partial folder whose lock
can be taken is abandoned. A `.deleting-` folder is always abandoned: removing it only
finishes what the prune started.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops.db.backups.catalog import PARTIAL_PREFIX
from ops.db.backups.prune import DELETING_PREFIX

OWNER_FILE = ".owner"
# A partial folder is made a moment before its lock: one that young without a lock is in use.
UNLOCKED_GRACE_SECONDS = 600


@dataclass(frozen=True)
class Leftover:
    """A folder in the backups folder that is not a finished backup."""

    name: str
    path: Path
    kind: str  # "partial" (an unfinished backup) | "deleting" (an unfinished prune)
    size_bytes: int
    modified_at: datetime
    in_progress: bool

    @property
    def state(self) -> str:
        return "in progress" if self.in_progress else "abandoned"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "size_bytes": self.size_bytes,
            "modified_at": self.modified_at.isoformat(),
            "path": str(self.path),
        }


@contextmanager
def owned_partial(partial: Path) -> Iterator[Path]:
    """Hold the partial folder's owner lock until the block ends (the folder is created, or
    was created empty by `claim_backup_name`).

    The lock file is removed at the end, before the folder is renamed into a finished backup.
    """
    partial.mkdir(exist_ok=True)
    owner = partial / OWNER_FILE
    with open(owner, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield partial
        finally:
            owner.unlink(missing_ok=True)


def find_leftovers(directory: Path) -> list[Leftover]:
    """Unfinished backups and prunes in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(PARTIAL_PREFIX):
            kind = "partial"
        elif path.name.startswith(DELETING_PREFIX):
            kind = "deleting"
        else:
            continue
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:  # finished or removed while we looked
            continue
        in_progress = kind == "partial" and _partial_in_use(path, modified)
        found.append(
            Leftover(
                name=path.name,
                path=path,
                kind=kind,
                size_bytes=_size_of(path),
                modified_at=datetime.fromtimestamp(modified, UTC),
                in_progress=in_progress,
            )
        )
    return found


def remove_leftovers(leftovers: list[Leftover]) -> list[Leftover]:
    """Remove every abandoned leftover (never one in progress); returns those removed."""
    removed = []
    for leftover in leftovers:
        if leftover.in_progress or (  # asked again: it may have started since it was listed
            leftover.kind == "partial"
            and _partial_in_use(leftover.path, leftover.path.stat().st_mtime)
        ):
            continue
        shutil.rmtree(leftover.path, ignore_errors=True)
        removed.append(leftover)
    return removed


def _partial_in_use(path: Path, modified: float) -> bool:
    owner = path / OWNER_FILE
    try:
        handle = open(owner)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return time.time() - modified < UNLOCKED_GRACE_SECONDS
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _size_of(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                continue
    return total
