"""A download's partial file in the lake's staging folder: its name, and when it is stale.

The bytes of `download-file-<id>.part` (with its note `….part.promise`) stay between attempts
so a retry resumes them; they are stale once no unfinished download job names the file (the
job succeeded, failed for good or was cancelled, or the file is gone). Every lake stages on
this machine (a filesystem lake in its `.staging/`, an S3 lake under the environment's state
folder, `s3-staging/`), so the same rule finds them on both.
"""

from __future__ import annotations

import re
from pathlib import Path

from common.db import connection
from common.environments import Environment
from common.lake import Lake
from common.lake.base import StagedFile
from common.sql import query

PARTIAL_DOWNLOAD = re.compile(r"^download-file-(\d+)\.part(\.promise)?$", re.ASCII)


def partial_path(lake: Lake, file_id: int) -> Path:
    """Where the download of `file_id` collects its bytes (the same name on every attempt)."""
    return lake.staging_dir() / f"download-file-{int(file_id)}.part"


def stale_partials(env: Environment, lake: Lake) -> list[StagedFile]:
    """Partial downloads (and their notes) that no download job will resume."""
    partials = [
        (staged, int(match.group(1)))
        for staged in lake.staged_files()
        if (match := PARTIAL_DOWNLOAD.match(staged.name))
    ]
    if not partials:
        return []
    resumable = _files_with_active_downloads(env)
    return [staged for staged, file_id in partials if file_id not in resumable]


def _files_with_active_downloads(env: Environment) -> set[int]:
    with connection(env) as conn, conn.cursor() as cur:
        cur.execute(query(__file__, "partials.sql", "files_with_active_downloads"))
        return {row[0] for row in cur.fetchall()}
