"""Task errors a person can fix reach the terminal as one line, not a traceback."""

from __future__ import annotations

import errno

import invoke
import pytest
from invoke.exceptions import Exit

from ops.taskkit import task


def _run(raised: BaseException) -> Exit:
    @task
    def failing(c):
        raise raised

    with pytest.raises(Exit) as caught:
        failing(invoke.Context())
    return caught.value


def test_an_os_error_is_one_line_naming_the_file():
    stopped = _run(OSError(errno.ENOSPC, "No space left on device", "/backups/b1"))
    assert stopped.code == 1
    assert stopped.message == "error: No space left on device: /backups/b1"


def test_an_os_error_without_a_file_is_its_reason():
    stopped = _run(NotADirectoryError(errno.ENOTDIR, "Not a directory"))
    assert stopped.message == "error: Not a directory"
