"""The lake's own files in its staging folder, and whether their writer is still alive.

A filesystem lake copies a file from another device into `.staging/<name>.<pid>.copy` before
renaming it into place; the copy is abandoned once its process is gone. Everything else in a
staging folder (a download's partial file, say) belongs to whoever named it, which also says
when it is stale: the lake only lists them (`Lake.staged_files`).
"""

from __future__ import annotations

import os
import re

from common.lake.base import Lake, StagedFile

LAKE_COPY = re.compile(r"^.+\.(\d+)\.copy$", re.ASCII)


def abandoned_copies(lake: Lake) -> list[StagedFile]:
    """The lake's copies on their way into place whose process is gone."""
    found = []
    for staged in lake.staged_files():
        copy = LAKE_COPY.match(staged.name)
        if copy and not process_alive(int(copy.group(1))):
            found.append(staged)
    return found


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    return True
