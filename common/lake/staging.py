"""The filesystem lake's staging folder: which of its files nobody will ever finish.

`.staging/` holds partial downloads (`download-file-<id>….part`, kept on purpose while a
download job may still resume them) and copies on their way into the lake
(`<name>.<pid>.copy`, renamed into place by the process that made them). A partial is stale
once no unfinished download job names its file (the job succeeded, failed for good or was
cancelled, or the file is gone); a copy is stale once its process is gone. `lake.check`
reports stale files; a worker starting on this machine removes them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from common.db import connect
from common.environments import Environment
from common.lake.base import Lake
from common.lake.filesystem import FilesystemLake
from common.sql import query

PARTIAL_DOWNLOAD = re.compile(r"^download-file-(\d+)\.part(\.promise)?$", re.ASCII)
LAKE_COPY = re.compile(r"^.+\.(\d+)\.copy$", re.ASCII)


def stale_staging_files(env: Environment, lake: Lake) -> list[Path]:
    """Partial downloads no job will resume, and copies whose process is gone."""
    if not isinstance(lake, FilesystemLake):
        return []  # other lakes stage in the job's own scratch folder, removed with it
    staging = lake.root / ".staging"
    try:
        names = sorted(os.listdir(staging))
    except FileNotFoundError:
        return []
    if not names:
        return []
    resumable = _files_with_active_downloads(env)
    stale = []
    for name in names:
        partial = PARTIAL_DOWNLOAD.match(name)
        copy = LAKE_COPY.match(name)
        if (partial and int(partial.group(1)) not in resumable) or (
            copy and not process_alive(int(copy.group(1)))
        ):
            stale.append(staging / name)
    return stale


def remove_stale_staging_files(env: Environment, lake: Lake) -> list[Path]:
    """Remove what `stale_staging_files` finds; returns what was removed."""
    removed = []
    for path in stale_staging_files(env, lake):
        try:
            path.unlink()
        except FileNotFoundError:  # another worker was quicker
            continue
        removed.append(path)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    return True


def _files_with_active_downloads(env: Environment) -> set[int]:
    conn = connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute(query(__file__, "staging.sql", "files_with_active_downloads"))
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()
