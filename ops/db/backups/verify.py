"""`db.verify`: a backup is trusted only once it has been restored and compared.

Files are checked against the manifest first (naming the bad one), then a logical backup is
restored into a scratch database and its row counts and checksums compared with the
manifest; a physical one passes pg_verifybackup and a server is started on a copy. The
outcome is written beside the manifest either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from common import db
from common.environments import Environment
from ops.db.backups.catalog import BackupRecord, record_verification
from ops.db.backups.errors import BackupError
from ops.db.backups.logical import restore_into_new_database, scratch_name
from ops.db.backups.manifest import check_files
from ops.db.backups.physical import check_physical_backup
from ops.progress import Progress, quiet


@dataclass(frozen=True)
class VerifyResult:
    name: str
    kind: str
    ok: bool
    detail: str
    seconds: float


def verify_backup(
    env: Environment, backup: BackupRecord, *, progress: Progress = quiet
) -> VerifyResult:
    """Check and test-restore `backup`; record and return the outcome (never raises for a
    bad backup — a bad backup is a result, not a crash)."""
    started = time.monotonic()
    try:
        progress(f"checking {len(backup.manifest.files)} files against the manifest")
        check_files(backup.path, backup.manifest)
        if backup.kind == "logical":
            detail = _verify_logical(env, backup, progress)
        else:
            detail = check_physical_backup(env, backup, progress)
        ok = True
    except BackupError as exc:
        ok, detail = False, str(exc)
    seconds = time.monotonic() - started
    record_verification(backup.path, ok=ok, detail=detail, seconds=seconds)
    return VerifyResult(backup.name, backup.kind, ok, detail, round(seconds, 3))


def _verify_logical(env: Environment, backup: BackupRecord, progress: Progress) -> str:
    scratch = scratch_name(env, "verify")
    try:
        restore_into_new_database(env, backup, scratch, progress=progress)
    finally:
        db.drop_database(env, scratch)
    rows = sum(entry["rows"] for entry in backup.manifest.tables.values())
    return (
        f"restored into a scratch database: {len(backup.manifest.tables)} tables, "
        f"{rows} rows match the manifest"
    )
