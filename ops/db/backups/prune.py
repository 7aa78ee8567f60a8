"""`db.prune`: apply the retention policy to the backups on disk (dry run unless told)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from ops.db.backups.catalog import BackupRecord, list_backups
from ops.db.backups.retention import RetentionCandidate, select_backups_to_delete
from ops.db.backups.settings import BackupSettings

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
