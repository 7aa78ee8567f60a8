"""Runbook: the newest database backup is too old, or there is none (alarm `backup-too-old`).

When: the newest verified backup is older than the alarm's threshold (26 hours by default),
or the foreman publishes no backup age at all because there is no backup.

1. `inv schedule.status -e ENV`: when the backup timer last ran and how it ended (the timer is
   `refinery-backup.timer` on the foreman host, installed from `[schedule] backup`).
2. `inv db.backup -e ENV --offsite` takes, verifies and ships one now; `inv db.backups -e ENV`
   lists what exists.
3. The timer failed: its error is in `inv logs -e ENV --filter refinery-backup`.
"""
