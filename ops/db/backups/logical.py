"""Logical backups: a parallel directory-format pg_dump plus per-table fingerprints.

The dump and the fingerprints read one exported snapshot, so the row counts and checksums in
the manifest describe exactly the rows in the dump even while writers keep writing. Tables
too big for one pg_dump session are dumped in block ranges beside it, on that snapshot too
(split.py). The backup is written as `.partial-<name>` and renamed only once its manifest is
on disk.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime

from common import db
from common.db import fetch_one
from common.environments import Environment
from common.pgpass import libpq_child_environment
from common.shell import Value, run_command
from common.sql import query
from ops.db.backups.catalog import (
    PARTIAL_PREFIX,
    BackupRecord,
    claim_backup_name,
    find_backup,
    owned_partial,
)
from ops.db.backups.errors import BackupCorruptError, BackupError
from ops.db.backups.manifest import new_manifest, write_manifest
from ops.db.backups.settings import BackupSettings
from ops.db.backups.split import (
    SPLIT_DIR,
    dump_split_tables,
    exclude_data_arguments,
    load_split_tables,
    plan_split_tables,
    run_all,
)
from ops.db.backups.tables import (
    Fingerprints,
    compare_fingerprints,
    fingerprint_tables,
    user_tables,
)
from ops.db.backups.tools import fastest_compression, parallel_jobs, tool
from ops.progress import Progress, quiet

# Settings for pg_restore's own sessions only. Index builds dominate a restore after COPY,
# and sort in memory with room to; commits need not wait for the disk because nothing uses
# the new database until the swap, whose own (synchronous) commit flushes everything before.
RESTORE_SESSION_OPTIONS = "-c maintenance_work_mem=256MB -c synchronous_commit=off"


def take_logical_backup(
    env: Environment, settings: BackupSettings, *, note: str = "", progress: Progress = quiet
) -> BackupRecord:
    """Dump the environment's database into a new backup folder and return its record."""
    started = time.monotonic()
    created_at = datetime.now(UTC)
    compression = fastest_compression()
    jobs = parallel_jobs()
    with db.connection(env) as conn:
        name = claim_backup_name(settings.directory, "logical", created_at)
        partial = settings.directory / f"{PARTIAL_PREFIX}{name}"
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cur.execute(query(__file__, "tables.sql", "export_snapshot"))
                snapshot = fetch_one(cur)[0]
                cur.execute(query(__file__, "tables.sql", "server_facts"))
                server_version, size_bytes = fetch_one(cur)
            tables = user_tables(conn)
            split = plan_split_tables(conn, jobs)
            with owned_partial(partial):  # a killed backup leaves it unlocked
                progress(
                    f"dumping {env.database.name} ({len(tables)} tables, -j {jobs}, {compression})"
                )
                # pg_dump, the split tables' ranges and the other tables' fingerprints all read the
                # one snapshot, at the same time; the first failure is raised once all have stopped.
                fingerprints: Fingerprints = {}
                split_fingerprints: Fingerprints = {}
                unsplit = [table for table in tables if ".".join(table) not in split]
                with libpq_child_environment(env) as libpq:
                    run_all([
                        lambda: run_command(
                            [tool("pg_dump"), "-Fd", "-j", jobs, "-Z", compression, "--snapshot",
                             snapshot, *exclude_data_arguments(split), "-f", partial / "dump"],
                            env=libpq,
                        ),
                        # Beside, not in, dump/: pg_dump wants that folder to itself until done.
                        lambda: split_fingerprints.update(dump_split_tables(
                            conn, split, partial, db.connection_params(env), snapshot,
                            sessions=jobs)),
                        lambda: fingerprints.update(fingerprint_tables(
                            lambda: db.connection(env), unsplit, workers=max(1, jobs // 2),
                            snapshot=snapshot)),
                    ])  # fmt: skip
                fingerprints = dict(sorted({**fingerprints, **split_fingerprints}.items()))
                if split:
                    (partial / SPLIT_DIR).rename(partial / "dump" / SPLIT_DIR)
                conn.rollback()
                progress("hashing files")
                manifest = new_manifest(
                    env, name=name, kind="logical", tool="pg_dump", note=note,
                    created_at=created_at, started=started, server_version=server_version,
                    size_bytes=size_bytes, payload=partial / "dump",
                    compression=compression, snapshot=snapshot, tables=fingerprints,
                    split_tables=split,
                )  # fmt: skip
                write_manifest(partial, manifest)
            final = settings.directory / name
            partial.rename(final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return find_backup(settings.directory, name)


def restore_into_new_database(
    env: Environment, backup: BackupRecord, target: str, *, progress: Progress = quiet
) -> Fingerprints:
    """pg_restore the backup into the new database `target` and prove it matches the manifest.

    Raises BackupCorruptError when a table's rows or checksum differ; the caller drops
    `target` then. Returns the restored database's fingerprints.
    """
    db.create_database(env, target, template="template0")
    jobs = parallel_jobs()
    progress(f"restoring {backup.name} into {target} (-j {jobs})")
    split = backup.manifest.split_tables
    try:
        if not split:
            _pg_restore(env, backup, target, "-j", jobs)
        else:
            # Tables first, then every row — pg_restore's share and the split tables' ranges
            # on as many sessions at once — and only then the indexes and constraints.
            _pg_restore(env, backup, target, "--section=pre-data")
            progress(f"loading rows ({len(split)} big tables in ranges, {jobs} sessions)")
            loaders = [
                lambda: _pg_restore(env, backup, target, "--section=data", "-j", jobs),
                lambda: load_split_tables(
                    lambda: db.connection(env, dbname=target), split, backup.path / "dump",
                    sessions=jobs,
                ),
            ]  # fmt: skip
            run_all(loaders)
            progress("building indexes and constraints")
            _pg_restore(env, backup, target, "--section=post-data", "-j", jobs)
    except BackupError:
        raise
    except Exception as exc:
        raise BackupCorruptError(f"backup {backup.name} does not restore: {exc}") from None
    progress(f"checking {len(backup.manifest.tables)} tables against the manifest")
    with db.connection(env, dbname=target) as conn:
        tables = user_tables(conn)
    actual = fingerprint_tables(lambda: db.connection(env, dbname=target), tables)
    problems = compare_fingerprints(backup.manifest.tables, actual)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BackupCorruptError(
            f"backup {backup.name} restored to different data: {problems[0]}{more}"
        )
    return actual


def _pg_restore(env: Environment, backup: BackupRecord, target: str, *options: str | int) -> None:
    with libpq_child_environment(env, dbname=target) as libpq:
        run_command(
            [tool("pg_restore"), "-Fd", *options, "--exit-on-error", "-d", target,
             Value(str(backup.path / "dump"))],
            env={**libpq, "PGOPTIONS": RESTORE_SESSION_OPTIONS},
        )  # fmt: skip


def scratch_name(env: Environment, purpose: str) -> str:
    """A database name beside the live one, e.g. refinery_restore_20261121t020000."""
    stamp = datetime.now(UTC).strftime("%Y%m%dt%H%M%S%f")
    return f"{env.database.name}_{purpose}_{stamp}"[:63]
