"""Database backups you can trust: logical and physical backups with manifests, verification
by restore, safe restore beside the live data, retention, off-site copies and the scheduled
path that does all of it unattended.

Modules take plain values and return results; `ops/db/backup_tasks.py` renders them.
Anything destructive elsewhere asks `ops.db.backups.fresh.fresh_verified_backup` for a
recent verified backup first; there is no other way to take one.
"""
