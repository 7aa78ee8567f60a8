"""Stat a folder lake with GNU find: the same proof (inode, size, mtime, ctime), less Python.

In Python each file costs a stat_result object and a formatted fingerprint while holding the
GIL, so threads barely help; `find -printf` does the walk and the stats in C, in a couple of
processes at once, while this process loads the catalog and the checksum cache. Its output is
one NUL-separated text per process, turned into dicts with a few string operations.

The fingerprint `find` prints (`%i:%s:%T@:%C@`) is exactly `fingerprint_of`'s. Entries that
are neither folders nor regular files (symbolic links, FIFOs, sockets, devices) are not lake
objects, but they are listed too, with their type, so that the check can report them: a FIFO
where a file should be hangs whoever reads it. Whenever find
cannot give a faithful listing (not GNU find, a file name that is not text, an error such as a
folder it may not read), the caller falls back to the Python walk, which has the last word.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

from common.errors import CommandError
from common.shell import run_command

FIND_FORMAT = "%p\\0%s\\0%i:%s:%T@:%C@\\0%y\\0"  # key, size, fingerprint_of(stat), type


def gnu_find() -> str | None:
    """The `find` on PATH, if any. Whether it is GNU find 4.9+ (`-files0-from`, `-printf`) is
    learnt from its exit status when used: asking first would cost a process every check."""
    return shutil.which("find")


def find_sizes_and_fingerprints(
    root: str, units: list[str], processes: int
) -> tuple[dict[str, int], dict[str, str], dict[str, str]] | None:
    """({key: size}, {key: fingerprint}) of the regular files under `units` (prefixes of
    `root`, folders ending in '/'), and {key: type name} of everything else that is not a
    folder, shared among `processes` finds; None if find cannot."""
    find = gnu_find()
    if find is None:
        return None
    groups = [units[index::processes] for index in range(min(processes, len(units)))]
    with ThreadPoolExecutor(max(1, len(groups))) as pool:
        outputs = list(pool.map(lambda group: _run_find(find, root, group), groups))
    sizes: dict[str, int] = {}
    fingerprints: dict[str, str] = {}
    special: dict[str, str] = {}
    for output in outputs:
        if output is None:
            return None
        fields = output.split("\0")
        fields.pop()  # after the last NUL
        keys, types = fields[0::4], fields[3::4]
        sizes.update(zip(keys, map(int, fields[1::4]), strict=True))
        fingerprints.update(zip(keys, fields[2::4], strict=True))
        if any(kind != "f" for kind in types):
            for key, kind in zip(keys, types, strict=True):
                if kind != "f":
                    special[key] = FIND_TYPES.get(kind, "not a regular file")
                    del sizes[key], fingerprints[key]
    return sizes, fingerprints, special


FIND_TYPES = {
    "l": "symbolic link",
    "p": "FIFO",
    "s": "socket",
    "b": "block device",
    "c": "character device",
    "D": "door",
}


def _run_find(find: str, root: str, group: list[str]) -> str | None:
    """find's output for one group, keys without the './' that keeps names from being read
    as options; None when it is not a complete, faithful listing."""
    starts = "".join(f"./{unit.rstrip('/')}\0" for unit in group)
    argv = [find, "-files0-from", "-", "!", "-type", "d", "-printf", FIND_FORMAT]
    try:
        result = run_command(argv, cwd=root, input_text=starts, check=False, timeout=3600)
    except (CommandError, UnicodeDecodeError):  # no find, or names that are not UTF-8
        return None
    output = result.stdout
    if result.returncode != 0 or "\n" in output:  # an error, or a name with a line break
        return None
    return output[2:].replace("\0./", "\0") if output else ""
