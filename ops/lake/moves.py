"""Moving whole lake folders between the visible lake and its internal areas.

`.quarantine/` and `.trash/` are internal (dot-led, never listed by `Lake.list`), so moving a
folder there takes it out of the lake's visible content without destroying it. Every path is
checked to stay inside the lake — a symlink pointing elsewhere is refused, not followed.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from common.errors import StorageError
from common.lake import FilesystemLake, Lake

INTERNAL_AREAS = (".quarantine/", ".trash/")


def _relative(prefix: str) -> str:
    cleaned = prefix.strip("/")
    parts = cleaned.split("/")
    if not cleaned or any(part in {"", ".", ".."} for part in parts):
        raise StorageError(f"refusing lake path {prefix!r}: not a plain path inside the lake")
    return cleaned


def inside_lake(lake: FilesystemLake, prefix: str) -> Path:
    """The folder for `prefix`, refused when it (or a symlink on the way) leads outside."""
    path = lake.root / _relative(prefix)
    root = lake.root.resolve()
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise StorageError(
            f"refusing lake path {prefix!r}: it resolves outside the lake ({resolved})"
        )
    if path.is_symlink():
        raise StorageError(f"refusing lake path {prefix!r}: it is a symlink")
    return path


def check_inside(lake: Lake, prefix: str) -> None:
    if isinstance(lake, FilesystemLake):
        inside_lake(lake, prefix)
    else:
        _relative(prefix)


def move_tree(lake: Lake, source: str, target: str) -> bool:
    """Move the folder `source` to `target` (either may be internal); False if absent."""
    if isinstance(lake, FilesystemLake):
        src, dst = inside_lake(lake, source), inside_lake(lake, target)
        if not src.exists():
            return False
        if dst.exists():
            raise StorageError(f"{target} already exists in the lake; not overwriting it")
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        return True
    return lake.move_prefix(_relative(source) + "/", _relative(target) + "/") > 0


def tree_exists(lake: Lake, prefix: str) -> bool:
    if isinstance(lake, FilesystemLake):
        return inside_lake(lake, prefix).exists()
    if prefix.startswith("."):
        return any(True for _ in lake.list_internal(_relative(prefix)))
    return any(True for _ in lake.list(_relative(prefix) + "/"))


def purge_tree(lake: Lake, prefix: str) -> None:
    """Delete an internal folder for good (only quarantine/trash areas, never the lake)."""
    relative = _relative(prefix) + "/"
    if not relative.startswith(INTERNAL_AREAS):
        raise StorageError(f"refusing to purge {prefix!r}: only internal areas are purged")
    if isinstance(lake, FilesystemLake):
        path = inside_lake(lake, prefix)
        if path.exists():
            shutil.rmtree(path, onerror=_make_writable_and_retry)  # onexc needs 3.12
        return
    for key in list(lake.list_internal(relative)):
        lake.delete_internal(key)


def _make_writable_and_retry(function: Callable[[str], object], path: str, _exc: object) -> None:
    """Sealed results are read-only; a purge (by an admin) lifts that on the way out."""
    parent = os.path.dirname(path)
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR)
    function(path)


def move_object(lake: Lake, key: str, target: str) -> None:
    """Move one object to `target` (an internal area may be either end); never overwrites."""
    if isinstance(lake, FilesystemLake):
        src, dst = inside_lake(lake, key), inside_lake(lake, target)
        if dst.exists():
            raise StorageError(f"{target} already exists in the lake; not overwriting it")
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        return
    lake.move_object(_relative(key), _relative(target))
