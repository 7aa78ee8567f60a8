"""Where backups are kept: their names, the listing, verification records, what killed runs
leave behind, pruning, and the newest backup published for the metrics.

Names look like `20261121T020000.123Z-logical`: UTC time first so that sorting names sorts
backups by age. A backup is written as `.partial-<name>` and renamed only when complete, so a
listing never shows a half-written backup; a prune renames a backup to `.deleting-<name>`
before removing it. A process killed in between (SIGKILL, a power cut) leaves that folder
behind, invisible to the listing and never pruned. A backup in progress holds an exclusive
lock on `<partial>/.owner` for as long as it runs; the kernel drops the lock when the process
dies, however it dies, so a partial folder whose lock can be taken is abandoned. A
`.deleting-` folder is always abandoned: removing it only finishes what the prune started.

The folder's catalog is the truth, and a copy of its newest entry goes into the database
(`backup_records`) where the foreman's `/metrics`, `inv jobs.top` and the console read it.
It is published after every command that changes what the newest backup is or whether it is
proved (backup, verify, prune, restore, the scheduled run). After a restore the database is
the backup's, older than the folder: publishing again puts the record right. A database that
cannot be reached is a warning: the backup itself is what matters.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import db
from common.environments import Environment
from common.errors import first_line
from common.metrics import record_backup_state
from ops.db.backups.errors import BackupNotFoundError
from ops.db.backups.manifest import (
    MANIFEST_FILE,
    VERIFICATION_FILE,
    Manifest,
    read_manifest,
    write_json_atomically,
)
from ops.db.backups.retention import RetentionCandidate, select_backups_to_delete
from ops.db.backups.settings import BackupSettings, backup_settings

PARTIAL_PREFIX = ".partial-"
_NAME = re.compile(r"^(\d{8}T\d{6}\.\d{3}Z)-(logical|physical)$", re.ASCII)
_TIME_FORMAT = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class BackupRecord:
    """One finished backup as the listing, retention and restore see it."""

    name: str
    path: Path
    kind: str
    created_at: datetime
    size_bytes: int
    note: str
    verified: bool | None  # None: never verified
    verified_at: str
    manifest: Manifest

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "size_bytes": self.size_bytes,
            "verified": self.verified,
            "verified_at": self.verified_at,
            "note": self.note,
            "path": str(self.path),
        }


def new_backup_name(kind: str, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime(_TIME_FORMAT)}.{moment.microsecond // 1000:03d}Z-{kind}"


def claim_backup_name(directory: Path, kind: str, now: datetime) -> str:
    """A new backup's name, with its partial folder created (empty) for the caller.

    Two backups started in the same millisecond would share `new_backup_name`; creating the
    partial folder is the claim (mkdir is atomic), and a name already claimed or finished moves
    on by a millisecond, so each backup gets a name of its own and neither disturbs the other.
    """
    directory.mkdir(parents=True, exist_ok=True)
    moment = now
    for _ in range(1000):
        name = new_backup_name(kind, moment)
        moment += timedelta(milliseconds=1)
        partial = directory / f"{PARTIAL_PREFIX}{name}"
        try:
            partial.mkdir()
        except FileExistsError:
            continue
        # Checked after the claim: a backup that finished before it renamed its partial away.
        if (directory / name).exists():
            partial.rmdir()
            continue
        return name
    raise FileExistsError(f"no free backup name in {directory} near {new_backup_name(kind, now)}")


def time_of_name(name: str) -> datetime | None:
    match = _NAME.match(name)
    if not match:
        return None
    stamp = match.group(1)
    moment = datetime.strptime(stamp[:15], _TIME_FORMAT).replace(tzinfo=UTC)
    return moment.replace(microsecond=int(stamp[16:19]) * 1000)


def list_backups(directory: Path) -> list[BackupRecord]:
    """Finished backups in `directory`, oldest first (folders without a manifest are skipped)."""
    if not directory.is_dir():
        return []
    records = []
    for path in sorted(directory.iterdir()):
        created = time_of_name(path.name)
        if created is None or not (path / MANIFEST_FILE).is_file():
            continue
        records.append(_record(path, created))
    return records


def find_backup(directory: Path, name: str | None) -> BackupRecord:
    """The backup called `name`, or the newest one when `name` is empty."""
    backups = list_backups(directory)
    if not name:
        if not backups:
            raise BackupNotFoundError(f"no backups in {directory}; take one with inv db.backup")
        return backups[-1]
    for record in backups:
        if record.name == name:
            return record
    raise BackupNotFoundError(
        f"no backup named {name!r} in {directory}; list them with inv db.backups"
    )


def read_verification(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / VERIFICATION_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def record_verification(path: Path, *, ok: bool, detail: str, seconds: float) -> dict[str, Any]:
    """Write `verification.json` beside the manifest: the last check's outcome."""
    value = {
        "ok": ok,
        "detail": detail,
        "seconds": round(seconds, 3),
        "verified_at": datetime.now(UTC).isoformat(),
    }
    write_json_atomically(path / VERIFICATION_FILE, value)
    return value


def _record(path: Path, created: datetime) -> BackupRecord:
    manifest = read_manifest(path)
    verification = read_verification(path)
    return BackupRecord(
        name=path.name,
        path=path,
        kind=manifest.kind,
        created_at=created,
        size_bytes=manifest.size_bytes,
        note=manifest.note,
        verified=verification.get("ok"),
        verified_at=verification.get("verified_at", ""),
        manifest=manifest,
    )


log = logging.getLogger(__name__)


def publish_newest_backup(env: Environment) -> str | None:
    """Record the newest backup of `env` in its database; returns its name (None: no backup)."""
    backups = list_backups(backup_settings(env).directory)
    newest = backups[-1] if backups else None
    state = (
        {
            "name": newest.name,
            "kind": newest.kind,
            "created_at": newest.created_at,
            "verified": newest.verified,
            "verified_at": newest.verified_at or None,
        }
        if newest
        else None
    )
    try:
        with db.connection(env) as conn:
            record_backup_state(conn, env.name, state)
    except Exception as exc:
        log.warning(
            "could not record the newest backup in the database: %s",
            first_line(exc),
            extra={"env": env.name},
        )
    return newest.name if newest else None


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


DELETING_PREFIX = ".deleting-"


def backups_to_prune(settings: BackupSettings, now: datetime | None = None) -> list[BackupRecord]:
    backups = {record.name: record for record in list_backups(settings.directory)}
    candidates = [
        RetentionCandidate(record.name, record.kind, record.created_at, record.verified)
        for record in backups.values()
    ]
    doomed = select_backups_to_delete(candidates, settings.retention, now or datetime.now(UTC))
    return [backups[candidate.name] for candidate in doomed]


def delete_backups(records: list[BackupRecord]) -> None:
    """Rename each out of the listing first, so a half-deleted backup is never listed."""
    for record in records:
        doomed = record.path.with_name(DELETING_PREFIX + record.name)
        record.path.rename(doomed)
        shutil.rmtree(doomed)
