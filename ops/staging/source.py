"""The production backup a refresh starts from: a verified logical backup, reused when one
recent enough exists, otherwise taken and verified now.

The backups area's own `fresh_verified_backup` chooses it, as it does for `data.delete`; a
backup named on the command line is verified here if it never was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from common.environments import Environment
from ops.db.backups.catalog import BackupRecord, find_backup
from ops.db.backups.scheduled import fresh_verified_backup, latest_verified_backup
from ops.db.backups.settings import backup_settings
from ops.db.backups.verify import verify_backup
from ops.progress import Progress, quiet
from ops.staging.errors import RefreshError


@dataclass(frozen=True)
class SourceBackup:
    """The backup chosen, and how: "named", "reused" or "taken"."""

    record: BackupRecord
    how: str


def verified_source_backup(
    source: Environment, *, name: str | None, max_age_hours: float, progress: Progress = quiet
) -> SourceBackup:
    """The named backup (verified now if it never was), a recent verified one, or a new one."""
    settings = backup_settings(source)
    if name:
        record, how = find_backup(settings.directory, name), "named"
    else:
        max_age = timedelta(hours=max_age_hours)
        reusable = latest_verified_backup(source, max_age=max_age, kind="logical")
        if reusable is not None:
            return SourceBackup(reusable, "reused")
        record = fresh_verified_backup(  # none recent enough: takes and verifies one
            source, max_age=max_age, note="staging refresh", kind="logical", progress=progress
        )
        return SourceBackup(record, "taken")
    if record.kind != "logical":
        raise RefreshError(
            f"backup {record.name} is {record.kind}; a refresh restores a logical backup "
            "beside the live database (take one with inv db.backup)"
        )
    if record.verified is not True:
        progress(f"verifying {record.name}")
        result = verify_backup(source, record, progress=progress)
        if not result.ok:
            raise RefreshError(f"backup {record.name} failed verification: {result.detail}")
        record = find_backup(settings.directory, record.name)
    return SourceBackup(record, how)
