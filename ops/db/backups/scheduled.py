"""Backups taken on someone's behalf: the unattended path the timer runs (take a logical
backup, verify it by restoring it, prune by the retention policy, ship it off-site when a
bucket is configured), and the fresh verified backup anything destructive asks for first.

`fresh_verified_backup(env, max_age=…, note=…)` returns a backup of the environment's
database that has been restored and compared (`db.verify`), taken less than `max_age` ago:
the newest such backup when there is one, otherwise a new logical backup, verified before it
is returned. It is the same backup `inv db.backup` takes and `inv db.backups` lists, so the
one a deletion relied on can be restored with `inv db.restore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from common.environments import Environment
from ops.db.backups.catalog import (
    BackupRecord,
    backups_to_prune,
    delete_backups,
    find_backup,
    find_leftovers,
    list_backups,
    remove_leftovers,
)
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.logical import take_logical_backup
from ops.db.backups.offsite import upload_backup
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


def latest_verified_backup(
    env: Environment, *, max_age: timedelta, kind: str | None = None
) -> BackupRecord | None:
    """The newest backup of `env`'s database that passed verification within `max_age`
    (only of `kind`, "logical" or "physical", when given)."""
    oldest = datetime.now(UTC) - max_age
    for record in reversed(list_backups(backup_settings(env).directory)):
        if record.created_at < oldest:
            return None  # listed oldest first: everything before this is older still
        if (
            record.verified is True
            and (kind is None or record.kind == kind)
            and record.manifest.environment == env.name
            and record.manifest.database == env.database.name
        ):
            return record
    return None


def fresh_verified_backup(
    env: Environment,
    *,
    max_age: timedelta,
    note: str,
    kind: str | None = None,
    progress: Progress = quiet,
) -> BackupRecord:
    """A verified backup younger than `max_age`: the newest one, or a new one (see above).

    Raises BackupCorruptError when the new backup does not verify: whatever asked for it
    must not go ahead. A restore beside a live database needs a logical backup
    (`kind="logical"`); a new backup is always logical.
    """
    existing = latest_verified_backup(env, max_age=max_age, kind=kind)
    if existing is not None:
        progress(f"using backup {existing.name}, verified {existing.verified_at}")
        return existing
    backup = take_logical_backup(env, backup_settings(env), note=note, progress=progress)
    result = verify_backup(env, backup, progress=progress)
    if not result.ok:
        raise BackupCorruptError(
            f"the backup taken first ({backup.name}) failed verification: {result.detail}; "
            "nothing was changed"
        )
    return find_backup(backup.path.parent, backup.name)  # read again: now with its verification
