"""`db.restore`: replace the live database with a backup without ever losing the live one.

Order of operations, each step safe to be killed at:
1. check every backup file against its manifest (nothing touched yet);
2. stop the writers (foreman, workers);
3. restore BESIDE the live data — a new database, or a new data directory — and prove it
   matches the manifest;
4. swap it in: two `ALTER DATABASE … RENAME` in one transaction (atomic), or an atomic
   directory exchange with the server stopped; the old one is kept until the swap succeeded;
5. with the writers still stopped, set aside what the lake got after the backup and advance
   every sequence past the ids already used (after_restore.py), so no id is issued twice;
6. run the migration check and restart the writers.
A restore killed before step 4 leaves the live database as it was.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg2
import psycopg2.errors
from psycopg2 import sql

from common import db
from common.db import fetch_one
from common.environments import Environment
from common.errors import RefineryError
from common.search.index import reindex_after_restore
from foreman.migrations import pending_migrations
from ops.db.backups.after_restore import reconcile_after_restore, sequence_values
from ops.db.backups.catalog import BackupRecord
from ops.db.backups.errors import BackupError
from ops.db.backups.logical import restore_into_new_database, scratch_name
from ops.db.backups.manifest import check_files
from ops.db.backups.physical_restore import stage_physical, swap_in_physical
from ops.db.backups.writers import (
    describe_cloud_writers,
    has_cloud_writers,
    restart_writers,
    running_foreman_pid,
    stop_writers,
)
from ops.progress import Progress, quiet


@dataclass(frozen=True)
class RestorePlan:
    """What `--execute` would do, for the dry run."""

    environment: str
    database: str
    live_size_bytes: int | None
    backup: str
    kind: str
    backup_created_at: str
    backup_note: str
    tables: int
    rows: int
    foreman_pid: int | None
    steps: list[str] = field(default_factory=list)
    backup_size_bytes: int = 0


@dataclass(frozen=True)
class RestoreResult:
    environment: str
    backup: str
    kind: str
    replaced: str
    kept: str
    pending_migrations: list[str]
    writers: str
    seconds: float
    after_restore: str = ""


def plan_restore(env: Environment, backup: BackupRecord) -> RestorePlan:
    live = env.database.name
    size = _database_size(env)
    pid = running_foreman_pid(env)
    if backup.kind == "logical":
        steps = [
            f"check {len(backup.manifest.files)} files of {backup.name} against its manifest",
            f"stop the foreman (pid {pid})" if pid else "no foreman running: nothing to stop",
            f"pg_restore {backup.name} into a new database beside {live} and compare its row "
            "counts and checksums with the manifest",
            f"rename {live} to {live}_old_<time> and the new database to {live} (one transaction)",
            "move lake objects the backup does not know to .quarantine/after-restore-<time>/ "
            "and advance every sequence past the ids already used",
            f"run the migration check, then drop {live}_old_<time>",
        ]
    else:
        steps = [
            f"copy {backup.name} beside the live data directory, checking every file's sha256",
            f"stop the foreman (pid {pid})" if pid else "no foreman running: nothing to stop",
            "stop the embedded cluster, exchange the data directories, start it and query it "
            "(this puts back the WHOLE cluster: every embedded environment of this state folder)",
            "move lake objects the backup does not know to .quarantine/after-restore-<time>/ "
            "and advance every sequence past the ids already used",
            "run the migration check, then delete the old data directory",
        ]
    steps.append("restart the foreman" if pid else "leave the foreman stopped (it was not running)")
    if has_cloud_writers(env):  # the writers are on the foreman host and in Batch
        cloud = describe_cloud_writers(env)
        steps = [cloud[0] if step.startswith(("stop the foreman", "no foreman")) else step
                 for step in steps]  # fmt: skip
        steps[2:2] = cloud[1:]
        steps[-1] = "start the foreman again on its host(s), at the release it ran"
    return RestorePlan(
        environment=env.name,
        database=live,
        live_size_bytes=size,
        backup=backup.name,
        kind=backup.kind,
        backup_created_at=backup.manifest.created_at,
        backup_note=backup.note,
        tables=len(backup.manifest.tables),
        rows=sum(entry["rows"] for entry in backup.manifest.tables.values()),
        foreman_pid=pid,
        steps=steps,
        backup_size_bytes=backup.size_bytes,
    )


def execute_restore(
    env: Environment, backup: BackupRecord, *, keep_old: bool = False, progress: Progress = quiet
) -> RestoreResult:
    """Restore `backup` over the live data, safely (see the module docstring)."""
    started = time.monotonic()
    with restore_lock(env):
        staged = None
        if backup.kind == "logical":
            progress(f"checking {len(backup.manifest.files)} files against the manifest")
            check_files(backup.path, backup.manifest)
            _drop_abandoned_restores(env)
        else:
            # The copy beside the live data is checked file by file while it is made.
            staged = stage_physical(env, backup, progress=progress)
        writers = stop_writers(env)
        progress("writers stopped" if writers.were_running else "no writers running")
        carried = sequence_values(env)  # the ids the live database has used, before it goes
        try:
            if staged is None:
                replaced, kept = _restore_logical(env, backup, keep_old, progress)
            else:
                replaced, kept = swap_in_physical(env, staged, keep_old=keep_old, progress=progress)
        except BaseException:
            restart_writers(env, writers)
            raise
        progress("setting aside lake objects from after the backup; advancing sequences")
        try:
            after = reconcile_after_restore(env, carried)
            reindex_after_restore(env)
        except (RefineryError, psycopg2.Error, OSError) as exc:
            raise BackupError(
                f"{backup.name} is restored, but the lake and sequences were not reconciled "
                f"({exc}); writers left stopped: fix that and restore again"
            ) from None
        pending = migration_check(env)
        if pending:
            message = (
                "writers left stopped: apply pending migrations with inv db.migrate, "
                "then start the foreman"
            )
        else:
            message = restart_writers(env, writers)
    return RestoreResult(
        env.name, backup.name, backup.kind, replaced, kept, pending, message,
        round(time.monotonic() - started, 3), after.summary(),
    )  # fmt: skip


def migration_check(env: Environment) -> list[str]:
    with db.connection(env) as conn:
        try:
            return [migration.name for migration in pending_migrations(conn)]
        except RefineryError as exc:
            return [f"migration check failed: {exc}"]


@contextmanager
def restore_lock(env: Environment) -> Iterator[None]:
    """One restore per environment at a time; the kernel releases it if we are killed."""
    with open(env.state_dir / "restore.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another restore of {env.name} is running; wait for it") from None
        yield


def _restore_logical(
    env: Environment, backup: BackupRecord, keep_old: bool, progress: Progress
) -> tuple[str, str]:
    live = env.database.name
    new = scratch_name(env, "restore")
    try:
        restore_into_new_database(env, backup, new, progress=progress)
    except BaseException:
        db.drop_database(env, new)
        raise
    progress(f"swapping {new} in as {live}")
    old = swap_databases(env, live, new)
    if keep_old:
        return live, old
    db.drop_database(env, old)
    return live, ""


def swap_databases(env: Environment, live: str, new: str, *, attempts: int = 20) -> str:
    """Rename live → live_old_<time> and new → live in one transaction; returns the old name.

    Sessions on either database block a rename, so they are terminated first (writers are
    already stopped; these are stragglers) and the swap is retried if one reconnects.
    """
    old = f"{live}_old_{datetime.now(UTC).strftime('%Y%m%dt%H%M%S')}"[:63]
    with db.maintenance_connection(env) as conn, conn.cursor() as cur:
        for attempt in range(attempts):
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                ([live, new],),
            )
            try:
                cur.execute("BEGIN")
                cur.execute(_rename(live, old))
                cur.execute(_rename(new, live))
                cur.execute("COMMIT")
                return old
            except psycopg2.errors.ObjectInUse:
                cur.execute("ROLLBACK")
                time.sleep(0.1 * (attempt + 1))
    raise BackupError(f"sessions kept reconnecting to {live}; stop its clients and retry")


def _rename(source: str, target: str) -> sql.Composed:
    return sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(source), sql.Identifier(target)
    )


def _drop_abandoned_restores(env: Environment) -> None:
    """Drop `<live>_restore_*` databases a killed restore left (we hold the restore lock)."""
    prefix = f"{env.database.name}_restore_"
    with db.maintenance_connection(env) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
            (len(prefix), prefix),
        )
        names = [row[0] for row in cur.fetchall()]
    for name in names:
        db.drop_database(env, name)


def _database_size(env: Environment) -> int | None:
    try:
        with db.connection(env) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return int(fetch_one(cur)[0])
    except (RefineryError, psycopg2.Error):
        return None
