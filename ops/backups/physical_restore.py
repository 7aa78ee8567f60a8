"""Physical restore of the embedded cluster: a new data directory beside the live one,
exchanged with it atomically while the server is stopped.

The embedded cluster serves every embedded environment of the state folder, so a physical
restore puts back the whole cluster as it was when the backup was taken.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from foreman import db
from foreman.embedded import _make_traversable
from foreman.environments import Environment
from ops.backups.catalog import BackupRecord
from ops.backups.errors import BackupError
from ops.backups.logical import Progress, _quiet
from ops.backups.physical import copy_data_dir, count_tables, verify_with_pg_verifybackup

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def restore_physical(
    env: Environment, backup: BackupRecord, *, keep_old: bool = False, progress: Progress = _quiet
) -> tuple[str, str]:
    """Returns (what was replaced, what was kept or '')."""
    if env.database.kind != "embedded":
        raise BackupError(
            f"{env.name} is not a cluster Refinery runs (database.kind = {env.database.kind}); "
            "restore a logical backup there instead"
        )
    verify_with_pg_verifybackup(backup.path / "data")
    cluster = db.embedded_cluster()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    incoming = cluster.base_dir / f"data.incoming-{stamp}"
    old = cluster.base_dir / f"data.old-{stamp}"
    progress(f"copying {backup.name} beside the live data directory")
    _make_traversable(cluster.base_dir)
    copy_data_dir(backup.path / "data", incoming)
    progress("stopping the cluster and exchanging data directories")
    cluster.stop()
    exchange_directories(incoming, cluster.data_dir)
    incoming.rename(old)
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
