"""Database backups you can trust: logical and physical backups with manifests, verification
by restore, safe restore beside the live data, retention, off-site copies and the scheduled
path that does all of it unattended.

Read in four rooms, in the order a backup lives:
- what a backup is and where it is kept: `manifest` (what was dumped, every file's sha256),
  `catalog` (names, listing, leftovers, pruning, the newest one published), `retention`,
  `settings`, `offsite` (the S3 copy);
- taking one: `logical` (pg_dump and per-table fingerprints, with `split`, `copy_out` and
  `tables` for big tables), `physical` (pg_basebackup, and RDS snapshots), `hashed_copy`,
  `tools`, and `scheduled` (the timer's run, and the fresh verified backup anything
  destructive asks for);
- checking one: `verify` (restored and compared before it is trusted; a physical backup is
  started as a throwaway server by `physical`);
- restoring one: `restore` (beside the live data, then swapped), `physical_restore`,
  `writers` (stopped around it, here and in the cloud) and `after_restore` (ids and the lake
  put right afterwards).

Modules take plain values and return results; `ops/db/tasks_backup.py` renders them.
Anything destructive elsewhere asks `ops.db.backups.scheduled.fresh_verified_backup` for a
recent verified backup first; there is no other way to take one.
"""
