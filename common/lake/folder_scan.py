"""Listing a folder lake fast: every file's size and fingerprint, and what is no file.

This is the hot path of `lake.check` on a filesystem lake: every file is stat'ed (that stat is
the proof a cached checksum still holds) into two plain dicts, so the comparison is done with
set operations instead of one Python object per file — by GNU find in parallel processes when
it can (find_scan), else by threads sharing units of folders.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common.lake.base import Progress, Scan
from common.lake.find_scan import find_sizes_and_fingerprints


def scan_folder(root: Path, *, workers: int, progress: Progress) -> Scan:
    """Stat every object of a folder lake: with GNU find in `workers` processes when it can,
    else units of folders shared among `workers` threads (stat releases the GIL; the Python
    around it does not, so a few threads are enough)."""
    progress("listing", 0, None)
    units = list(folder_units(root))
    folder = str(root)
    found = find_sizes_and_fingerprints(folder, units, workers)
    if found is not None:
        progress("listing", len(found[0]), None)
        return Scan(*found)
    sizes: dict[str, int] = {}
    fingerprints: dict[str, str] = {}
    special: dict[str, str] = {}
    with ThreadPoolExecutor(workers) as pool:
        for keys, unit_sizes, unit_fingerprints, unit_special in pool.map(
            lambda unit: _scan_unit(folder, unit), units
        ):
            sizes.update(zip(keys, unit_sizes, strict=True))
            fingerprints.update(zip(keys, unit_fingerprints, strict=True))
            special.update(unit_special)
            progress("listing", len(keys), None)
    return Scan(sizes, fingerprints, special)


def _scan_unit(root: str, prefix: str) -> tuple[list[str], list[int], list[str], dict[str, str]]:
    """(keys, sizes, fingerprints) of the regular files under `prefix` (a folder when it ends
    with '/', else a single file), and {key: type} of what is neither file nor folder.
    Symbolic links are not lake objects and are not followed (as with `find -P`)."""
    keys: list[str] = []
    sizes: list[int] = []
    fingerprints: list[str] = []
    special: dict[str, str] = {}
    if not prefix.endswith("/"):
        try:
            st = os.lstat(os.path.join(root, prefix))
        except FileNotFoundError:
            return keys, sizes, fingerprints, special
        if _is_regular(st):
            keys.append(prefix)
            sizes.append(st.st_size)
            fingerprints.append(fingerprint_of(st))
        elif not stat.S_ISDIR(st.st_mode):
            special[prefix] = type_name(st)
        return keys, sizes, fingerprints, special
    stack = [(os.path.join(root, prefix), prefix)]
    while stack:
        folder, key_prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:  # removed while we walk: its objects are simply gone
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):  # d_type: no stat for a folder
                stack.append((entry.path, f"{key_prefix}{entry.name}/"))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not _is_regular(st):
                special[key_prefix + entry.name] = type_name(st)
                continue
            keys.append(key_prefix + entry.name)
            sizes.append(st.st_size)
            fingerprints.append(fingerprint_of(st))
    return keys, sizes, fingerprints, special


def _is_regular(st: os.stat_result) -> bool:
    return (st.st_mode & 0o170000) == 0o100000  # S_ISREG without a function call per file


def type_name(st: os.stat_result) -> str:
    """What a non-regular entry is, in the words `find_scan` uses."""
    for test, name in (
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISCHR, "character device"),
    ):
        if test(st.st_mode):
            return name
    return "not a regular file"


def folder_units(root: Path, *, wanted: int = 64, max_depth: int = 3) -> Iterator[str]:
    """Non-overlapping prefixes that together cover the lake: folders are split level by
    level (skipping internal dot-folders at the top) until there are enough units to share
    among the workers; a file met on the way is a unit of its own."""
    folders = [""]
    for depth in range(max_depth):
        if len(folders) >= wanted:
            break
        deeper: list[str] = []
        for folder in folders:
            for entry in os.scandir(root / folder if folder else root):
                if depth == 0 and entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    deeper.append(f"{folder}{entry.name}/")
                else:
                    yield f"{folder}{entry.name}"
        folders = deeper
    yield from folders


def fingerprint_of(st: os.stat_result) -> str:
    """inode, size, mtime and ctime: a rewrite that restores the mtime still moves the ctime.

    Times are written as GNU find's `%T@` writes them (seconds, a dot, the nanoseconds in nine
    digits and a trailing 0), so a listing made by `find -printf` yields the same fingerprints."""
    return (
        f"{st.st_ino}:{st.st_size}:{_find_seconds(st.st_mtime_ns)}:{_find_seconds(st.st_ctime_ns)}"
    )


def _find_seconds(nanoseconds: int) -> str:
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    return f"{seconds}.{fraction:09d}0"
