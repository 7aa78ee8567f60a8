"""The unattended path the timer runs: take a logical backup, verify it by restoring it,
prune by the retention policy, and ship it off-site when a bucket is configured."""

from __future__ import annotations

from dataclasses import dataclass

from common.environments import Environment
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.leftovers import find_leftovers, remove_leftovers
from ops.db.backups.logical import take_logical_backup
from ops.db.backups.offsite import upload_backup
from ops.db.backups.prune import backups_to_prune, delete_backups
from ops.db.backups.settings import backup_settings
from ops.db.backups.verify import verify_backup
from ops.progress import Progress, quiet


@dataclass(frozen=True)
class ScheduledOutcome:
    backup: str
    verified: bool
    pruned: list[str]
    offsite: str

    def summary(self) -> str:
        shipped = f"; shipped to {self.offsite}" if self.offsite else ""
        return f"{self.backup} taken and verified; pruned {len(self.pruned)}{shipped}"


def run_scheduled_backup(env: Environment, *, progress: Progress = quiet) -> ScheduledOutcome:
    settings = backup_settings(env)
    backup = take_logical_backup(env, settings, note="scheduled", progress=progress)
    result = verify_backup(env, backup, progress=progress)
    if not result.ok:
        # A backup that does not restore is not a backup: fail loudly, prune nothing.
        raise BackupCorruptError(
            f"scheduled backup {backup.name} failed verification: {result.detail}"
        )
    doomed = backups_to_prune(settings)
    delete_backups(doomed)
    abandoned = remove_leftovers(find_leftovers(settings.directory))
    offsite = ""
    if settings.offsite_bucket:
        copy = upload_backup(env, settings, backup)
        offsite = f"s3://{copy.bucket}/{copy.prefix}"
    pruned = [record.name for record in doomed] + [left.name for left in abandoned]
    return ScheduledOutcome(backup.name, True, pruned, offsite)
