"""What the lake holds that is no catalog object and no work in progress.

* `.quarantine/after-restore-<time>/<key>`: objects a database restore found in the lake but
  not in the restored catalog (written after the backup was taken). They are kept, and
  reported by `lake.check` as `after-restore` differences until someone deletes the folder or
  puts objects back.
* stale files in `.staging/` (see `common.lake.staging`): reported as leftovers by
  `lake.check`; a worker starting on this machine removes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.lake import FilesystemLake, Lake

AFTER_RESTORE_PREFIX = ".quarantine/after-restore-"


@dataclass(frozen=True)
class QuarantinedObject:
    """An object a restore set aside: its key in the lake then, and where it is now."""

    key: str
    location: str
    size: int | None  # None: not known from the listing (S3)


def after_restore_objects(lake: Lake) -> list[QuarantinedObject]:
    """Every object restores moved to `.quarantine/after-restore-*`, oldest restore first."""
    found = []
    if isinstance(lake, FilesystemLake):
        base = lake.root / ".quarantine"
        folders = sorted(base.glob("after-restore-*")) if base.is_dir() else []
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    key = str(path.relative_to(folder))
                    location = f".quarantine/{folder.name}/{key}"
                    found.append(QuarantinedObject(key, location, path.stat().st_size))
        return found
    for location in lake.list_internal(".quarantine"):
        if location.startswith(AFTER_RESTORE_PREFIX):
            found.append(QuarantinedObject(location.split("/", 2)[2], location, None))
    return sorted(found, key=lambda item: item.location)
