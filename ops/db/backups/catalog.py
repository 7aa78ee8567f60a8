"""Finding backups on disk: names sortable by time, listing, and their verification records.

Names look like `20261121T020000.123Z-logical`: UTC time first so that sorting names sorts
backups by age. A folder being written is named `.partial-<name>` and is renamed only when
complete, so a listing never shows a half-written backup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ops.db.backups.errors import BackupNotFoundError
from ops.db.backups.manifest import (
    MANIFEST_FILE,
    VERIFICATION_FILE,
    Manifest,
    read_manifest,
    write_json_atomically,
)

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
