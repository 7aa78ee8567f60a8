"""Physical restore of the embedded cluster: a new data directory beside the live one,
exchanged with it atomically while the server is stopped.

The embedded cluster serves every embedded environment of the state folder, so a physical
restore puts back the whole cluster as it was when the backup was taken.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common import db
from common.environments import Environment
from ops.db.backups.catalog import BackupRecord
from ops.db.backups.errors import BackupCorruptError, BackupError
from ops.db.backups.hashed_copy import copy_hashing
from ops.db.backups.manifest import Manifest
from ops.db.backups.physical import (
    count_tables,
    hand_to_server_user,
    make_reachable_by_server,
    run_as_server_user,
)
from ops.db.backups.tools import tool
from ops.progress import Progress, quiet

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class StagedDataDirectory:
    """A verified copy of a physical backup beside the live data directory, not yet in use."""

    path: Path
    stamp: str


def stage_physical(
    env: Environment, backup: BackupRecord, *, progress: Progress = quiet
) -> StagedDataDirectory:
    """Copy the backup beside the live data directory, checking every file's sha256 against
    the manifest as it is copied (one read). The live cluster keeps running meanwhile; a bad
    file removes the copy and raises BackupCorruptError naming it."""
    if env.database.kind != "embedded":
        raise BackupError(
            f"{env.name} is not a cluster Refinery runs (database.kind = {env.database.kind}); "
            "restore a logical backup there instead"
        )
    cluster = db.embedded_cluster()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    incoming = cluster.base_dir / f"data.incoming-{stamp}"
    progress(f"copying {backup.name} beside the live data directory, checking every file")
    make_reachable_by_server(incoming)
    try:
        copy_verified(backup.path / "data", incoming, backup.manifest)
        hand_to_server_user(incoming)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return StagedDataDirectory(incoming, stamp)


def swap_in_physical(
    env: Environment, staged: StagedDataDirectory, *, keep_old: bool = False,
    progress: Progress = quiet,
) -> tuple[str, str]:  # fmt: skip
    """Stop the cluster, exchange data directories atomically, start and query it; on any
    failure put the old directory back. Returns (what was replaced, what was kept or '')."""
    cluster = db.embedded_cluster()
    old = cluster.base_dir / f"data.old-{staged.stamp}"
    progress("stopping the cluster and exchanging data directories")
    if cluster.is_running():
        # Immediate: the outgoing data is set aside, so a shutdown checkpoint would only
        # cost time; should it be needed again, crash recovery makes it consistent.
        run_as_server_user([tool("pg_ctl"), "-D", cluster.data_dir, "-m", "immediate", "-w",
                            "stop"])  # fmt: skip
    exchange_directories(staged.path, cluster.data_dir)
    staged.path.rename(old)
    try:
        cluster.ensure_running()
        count_tables(env, cluster.address().port)
    except Exception as exc:
        cluster.stop()
        exchange_directories(old, cluster.data_dir)
        shutil.rmtree(old, ignore_errors=True)  # now the copy that failed to start
        cluster.ensure_running()
        raise BackupError(
            f"the restored cluster did not start; the old one is back: {exc}"
        ) from None
    if keep_old:
        return str(cluster.data_dir), str(old)
    shutil.rmtree(old, ignore_errors=True)
    return str(cluster.data_dir), ""


def copy_verified(source: Path, destination: Path, manifest: Manifest) -> None:
    """Copy every file the manifest lists, hashing while copying; refuse any difference."""
    actual = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    unexpected = sorted(set(actual) - set(manifest.files))
    if unexpected:
        raise BackupCorruptError(f"backup {manifest.name} is corrupt: data/{unexpected[0]} "
                                 "is not in the manifest; do not restore it")  # fmt: skip
    destination.mkdir(mode=0o700)
    for directory in sorted(p for p in source.rglob("*") if p.is_dir()):
        (destination / directory.relative_to(source)).mkdir(mode=0o700, exist_ok=True)

    def copy_one(relative: str) -> str | None:
        try:
            # The digest of the bytes written: what is checked is exactly what will run.
            digest = copy_hashing(source / relative, destination / relative)
        except FileNotFoundError:
            return f"data/{relative} is missing"
        if digest != manifest.files[relative]["sha256"]:
            return f"data/{relative} does not match its sha256 in the manifest"
        return None

    # Largest first, so the one big table file is not the last thing left running.
    order = sorted(manifest.files, key=lambda name: (-manifest.files[name]["size"], name))
    _read_ahead(source, order)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        problems = sorted(problem for problem in pool.map(copy_one, order) if problem)
    if problems:
        raise BackupCorruptError(
            f"backup {manifest.name} is corrupt: {problems[0]}; do not restore it"
        )


def _read_ahead(source: Path, relatives: list[str]) -> None:
    """Ask the kernel to start reading every file now: a backup that is no longer in memory
    then streams in while the first files are hashed (a cold copy took 2.0 s instead of 2.6)."""
    for relative in relatives:
        try:
            descriptor = os.open(source / relative, os.O_RDONLY)
        except FileNotFoundError:
            continue  # reported by the copy
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(descriptor)


def exchange_directories(first: Path, second: Path) -> None:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE), else by three renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(
            _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
        )
        if result == 0:
            return
    parking = second.with_name(second.name + ".exchange")
    second.rename(parking)
    first.rename(second)
    parking.rename(first)
