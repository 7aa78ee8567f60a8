"""What the lake holds that is no catalog object and no work in progress.

* `.quarantine/after-restore-<time>/<key>`: objects a database restore found in the lake but
  not in the restored catalog (written after the backup was taken). They are kept, and
  reported by `lake.check` as `after-restore` differences until someone deletes the folder or
  puts objects back.
* stale files in the lake's staging folder (partial downloads no job will resume, copies
  whose process is gone; workers/cleanup.py): reported as leftovers by `lake.check`, removed
  by `lake.prune-leftovers` and by each worker as it starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.environments import Environment
from common.lake import Lake, open_lake
from workers.cleanup import remove_stale_staging_files, stale_staging_files

AFTER_RESTORE_PREFIX = ".quarantine/after-restore-"


@dataclass(frozen=True)
class QuarantinedObject:
    """An object a restore set aside: its key in the lake then, and where it is now."""

    key: str
    location: str
    size: int


def after_restore_objects(lake: Lake) -> list[QuarantinedObject]:
    """Every object restores moved to `.quarantine/after-restore-*`, oldest restore first."""
    found = [
        QuarantinedObject(info.key.split("/", 2)[2], info.key, info.size)
        for info in lake.list_area(".quarantine")
        if info.key.startswith(AFTER_RESTORE_PREFIX) and info.key.count("/") >= 2
    ]
    return sorted(found, key=lambda item: item.location)


def leftover_names(lake: Lake, paths: list) -> list[str]:
    """Staged files as people read them: inside the lake's folder relative to it (`.staging/…`),
    elsewhere (an object store's staging folder on this machine) by their path."""
    root = lake.local_root()
    return [
        str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        for path in paths
    ]


def stale_leftovers(env: Environment, lake: Lake) -> list[str]:
    """The staging files nobody will finish, named as `leftover_names` does."""
    return leftover_names(lake, [staged.path for staged in stale_staging_files(env, lake)])


def prune_leftovers(env: Environment, *, execute: bool) -> list[str]:
    """The stale staging files of `env`'s lake: removed with `execute`, else only named."""
    lake = open_lake(env)
    if not execute:
        return stale_leftovers(env, lake)
    removed = remove_stale_staging_files(env, lake)
    return leftover_names(lake, [staged.path for staged in removed])
