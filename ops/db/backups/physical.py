"""Physical backups of clusters Refinery runs itself: pg_basebackup, pg_verifybackup, and a
throwaway server started on a copy to prove the backup really starts.

Restoring one is a file copy, not a re-load, which is why it is the fast path. The copy a
server runs on must belong to the server's user, so as root everything the server touches is
handed to the embedded cluster's unprivileged user (see common/embedded.py).

`db.snapshot`: for RDS, where pg_basebackup cannot reach the files, ask AWS for a snapshot
of the instance and wait until it is available.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psycopg2
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from common import db
from common.db import fetch_one
from common.embedded import SYSTEM_USER
from common.environments import Environment
from common.errors import first_line
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
from ops.db.backups.settings import BackupSettings, backup_settings
from ops.db.backups.tools import tool
from ops.progress import Progress, quiet


def take_physical_backup(
    env: Environment, settings: BackupSettings, *, note: str = "", progress: Progress = quiet
) -> BackupRecord:
    """pg_basebackup the whole cluster (plain format, WAL streamed, with its backup manifest)."""
    started = time.monotonic()
    created_at = datetime.now(UTC)
    with db.connection(env) as conn, conn.cursor() as cur:
        cur.execute(query(__file__, "tables.sql", "server_facts"))
        server_version, size_bytes = fetch_one(cur)
    name = claim_backup_name(settings.directory, "physical", created_at)
    partial = settings.directory / f"{PARTIAL_PREFIX}{name}"
    try:
        with owned_partial(partial):  # a killed backup leaves it unlocked
            progress(f"pg_basebackup of the {env.name} cluster")
            with libpq_child_environment(env) as libpq:
                run_command(
                    [tool("pg_basebackup"), "-D", partial / "data", "-Fp", "-X", "stream",
                     "-c", "fast", "--no-password"],
                    env=libpq,
                )  # fmt: skip
            progress("pg_verifybackup")
            verify_with_pg_verifybackup(partial / "data")
            manifest = new_manifest(
                env, name=name, kind="physical", tool="pg_basebackup", note=note,
                created_at=created_at, started=started, server_version=server_version,
                size_bytes=size_bytes, payload=partial / "data",
            )  # fmt: skip
            write_manifest(partial, manifest)
        partial.rename(settings.directory / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return find_backup(settings.directory, name)


def verify_with_pg_verifybackup(data_dir: Path) -> None:
    try:
        run_command([tool("pg_verifybackup"), "--quiet", Value(os.fspath(data_dir))], timeout=3600)
    except Exception as exc:
        raise BackupCorruptError(f"pg_verifybackup rejects {data_dir.parent.name}: {exc}") from None


def copy_data_dir(source: Path, destination: Path) -> None:
    """Copy a data directory and hand it to the server's user (0700, as PostgreSQL demands)."""
    run_command(["cp", "-a", "--reflink=auto", "--", source, destination], timeout=3600)
    hand_to_server_user(destination)


def hand_to_server_user(destination: Path) -> None:
    """A server refuses a data directory it does not own or that others can read."""
    (destination / "backup_manifest").unlink(missing_ok=True)
    destination.chmod(0o700)
    owner = server_user()
    if owner:
        run_command(["chown", "-R", "--", f"{owner}:{owner}", destination], timeout=3600)


def make_reachable_by_server(path: Path) -> None:
    """o+x on every parent folder, so the server's user can reach a data directory there."""
    if server_user() is None:
        return
    for parent in Path(path).resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def server_user() -> str | None:
    """The user a PostgreSQL server runs as when we are root (PostgreSQL refuses root)."""
    return SYSTEM_USER if os.geteuid() == 0 else None


def run_as_server_user(argv: list) -> None:
    owner = server_user()
    prefix = ["runuser", "-u", owner, "--"] if owner else []
    run_command([*prefix, *argv], timeout=300)


@contextmanager
def throwaway_server(data_dir: Path) -> Iterator[int]:
    """Start a server on `data_dir` on its own loopback port; yields the port; stops it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_file = data_dir / "throwaway.log"
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    try:
        run_as_server_user(
            [
                tool("pg_ctl"),
                "-D",
                data_dir,
                "-l",
                log_file,
                "-w",
                "-t",
                "120",
                "-o",
                options,
                "start",
            ]
        )
    except Exception as exc:
        raise BackupCorruptError(f"a server does not start on {data_dir.name}: {exc}") from None
    try:
        yield port
    finally:
        run_as_server_user([tool("pg_ctl"), "-D", data_dir, "-m", "immediate", "-w", "stop"])


def check_physical_backup(env: Environment, backup: BackupRecord, progress: Progress) -> str:
    """pg_verifybackup, then start a throwaway server on a copy and query the database."""
    progress("pg_verifybackup")
    verify_with_pg_verifybackup(backup.path / "data")
    scratch = backup.path.parent / f".verify-{backup.name}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        progress("starting a throwaway server on a copy")
        make_reachable_by_server(scratch)
        copy_data_dir(backup.path / "data", scratch)
        with throwaway_server(scratch) as port:
            tables = count_tables(env, port)
        return f"pg_verifybackup ok; a server started on a copy and served {tables} tables"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def count_tables(env: Environment, port: int) -> int:
    params = db.connection_params(env)
    try:
        conn = psycopg2.connect(**{**params, "host": "127.0.0.1", "port": port}, connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise BackupError(f"cannot query the restored server: {first_line(exc)}") from None
    with closing(conn), conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
        return int(cur.fetchone()[0])


@dataclass(frozen=True)
class SnapshotResult:
    instance: str
    snapshot: str
    status: str


def take_rds_snapshot(env: Environment, *, wait_seconds: int = 3600) -> SnapshotResult:
    instance = backup_settings(env).rds_instance
    if not instance:
        raise BackupError(f"{env.path}: set [backups] rds_instance to take RDS snapshots")
    instance = str(env.resolve(instance))  # may be `terraform:database_identifier`
    client = boto3.client("rds", region_name=env.aws.region, endpoint_url=env.aws.endpoint_url)
    name = f"refinery-{env.name}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    try:
        client.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=instance)
        client.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier=name,
            WaiterConfig={"Delay": 15, "MaxAttempts": max(1, wait_seconds // 15)},
        )
        answer = client.describe_db_snapshots(DBSnapshotIdentifier=name)
    except WaiterError as exc:
        raise BackupError(f"snapshot {name} did not become available: {exc}") from None
    except (BotoCoreError, ClientError) as exc:
        raise BackupError(f"RDS snapshot of {instance} failed: {exc}") from None
    status = answer["DBSnapshots"][0]["Status"]
    return SnapshotResult(instance, name, status)
