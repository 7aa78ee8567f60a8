"""What dead workers left on this machine, removed when a worker starts.

A worker killed with SIGKILL (or by the kernel's OOM killer) cannot clean up: its scratch
folder `<tmp>/refinery-job-<job>-p<pid>-…` stays, and so do partial downloads no job will
resume in the lake's staging folder. Each worker, as it starts, removes the scratch folders
of processes that no longer exist and the staging files nobody will finish: partial downloads
no job will resume (workers/downloaders/partials.py) and the lake's own copies whose process is
gone (common/lake/staging.py). `inv lake.check` reports the same files and `inv
lake.prune-leftovers` removes them. Folders named before the owner's pid was part of the name
are removed once they are a day old.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
from pathlib import Path

from common.environments import Environment
from common.lake import Lake
from common.lake.base import StagedFile
from common.lake.staging import abandoned_copies, process_alive
from workers.downloaders.partials import stale_partials

log = logging.getLogger(__name__)
SCRATCH_PREFIX = "refinery-job-"
_OWNED = re.compile(r"^refinery-job-\d+-p(\d+)-", re.ASCII)
_UNOWNED_MAX_AGE_SECONDS = 24 * 3600


def scratch_prefix(job_id: int, pid: int) -> str:
    """The prefix of a worker's scratch folder: the job and the owning process."""
    return f"{SCRATCH_PREFIX}{int(job_id)}-p{int(pid)}-"


def remove_dead_scratch_folders(tmp: Path | None = None) -> list[Path]:
    """Remove scratch folders whose worker process is gone; returns them."""
    tmp = Path(tmp or tempfile.gettempdir())
    removed = []
    for path in tmp.glob(f"{SCRATCH_PREFIX}*"):
        owner = _OWNED.match(path.name)
        if owner:
            abandoned = not process_alive(int(owner.group(1)))
        else:
            try:
                abandoned = time.time() - path.stat().st_mtime > _UNOWNED_MAX_AGE_SECONDS
            except FileNotFoundError:
                continue
        if abandoned and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def stale_staging_files(env: Environment, lake: Lake) -> list[StagedFile]:
    """What the lake's staging folder holds that nobody will finish."""
    return sorted([*stale_partials(env, lake), *abandoned_copies(lake)], key=lambda f: f.name)


def remove_stale_staging_files(env: Environment, lake: Lake) -> list[StagedFile]:
    """Remove what `stale_staging_files` finds; returns what was removed."""
    removed = []
    for staged in stale_staging_files(env, lake):
        try:
            staged.path.unlink()
        except FileNotFoundError:  # another worker was quicker
            continue
        removed.append(staged)
    return removed


def remove_dead_workers_leftovers(env: Environment, lake: Lake) -> None:
    """Both clean-ups, never failing the job that runs them (a warning says what broke)."""
    try:
        scratch = remove_dead_scratch_folders()
        staged = remove_stale_staging_files(env, lake)
    except Exception as exc:
        log.warning("could not remove what dead workers left: %s", exc)
        return
    if scratch or staged:
        log.info(
            "removed %d scratch folder(s) of dead workers and %d stale staging file(s)",
            len(scratch),
            len(staged),
        )
