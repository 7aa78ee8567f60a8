"""The production backup a refresh starts from: a verified logical backup, reused when one
recent enough exists, otherwise taken and verified now.

This is the one place that chooses it, so that it can move to the backups area's own
"fresh verified backup" function when there is one; until then it uses the logical backup,
verify and catalog functions of `ops.db.backups` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from common.environments import Environment
from ops.db.backups.catalog import BackupRecord, find_backup, list_backups
from ops.db.backups.logical import Progress, _quiet, take_logical_backup
from ops.db.backups.settings import backup_settings
from ops.db.backups.verify import verify_backup
from ops.staging.errors import RefreshError


@dataclass(frozen=True)
class SourceBackup:
    """The backup chosen, and how: "named", "reused" or "taken"."""

    record: BackupRecord
    how: str


def reusable_backup(source: Environment, max_age_hours: float) -> BackupRecord | None:
    """The newest verified logical backup of `source` younger than `max_age_hours`."""
    newest_allowed = datetime.now(UTC) - timedelta(hours=max_age_hours)
    candidates = [
        record
        for record in list_backups(backup_settings(source).directory)
        if record.kind == "logical" and record.verified is True
        and record.created_at >= newest_allowed
    ]  # fmt: skip
    return candidates[-1] if candidates else None


def verified_source_backup(
    source: Environment, *, name: str | None, max_age_hours: float, progress: Progress = _quiet
) -> SourceBackup:
    """The named backup (verified now if it never was), a recent verified one, or a new one."""
    settings = backup_settings(source)
    if name:
        record, how = find_backup(settings.directory, name), "named"
    else:
        reused = reusable_backup(source, max_age_hours)
        if reused is not None:
            return SourceBackup(reused, "reused")
        progress(f"taking a logical backup of {source.name}")
        record = take_logical_backup(source, settings, note="staging refresh", progress=progress)
        how = "taken"
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
