"""The one exception hierarchy of Refinery.

Every error a person can act on derives from `RefineryError`; its message is one line that
says what went wrong and what to do next. Tasks turn it into `invoke.exceptions.Exit` so no
traceback reaches the terminal, with the exit code of its class from the one table below.
"""

from __future__ import annotations

import signal
from enum import IntEnum, unique


@unique
class ExitCode(IntEnum):
    """What every Refinery command's exit status means (the README's "Exit codes" table).

    A script may branch on these: a held lock is worth waiting for, an out-of-sync lake or a
    corrupt backup needs a person, a usage error needs a different command line.
    """

    OK = 0
    FAILURE = 1  # anything else that went wrong; the message says what
    USAGE = 2  # bad option, argument or environment file
    OUT_OF_SYNC = 3  # verification failed: lake out of sync, backup corrupt
    NOT_FOUND = 4  # the named backup, job or output does not exist
    REFUSED = 5  # a guard refused: a destructive plan without --allow-destroy
    LOCK_HELD = 6  # another deploy (or Terraform run) holds the lock
    COMMAND_FAILED = 7  # an external command (terraform, docker, pg_dump, ssh…) failed
    SUPERSEDED = 8  # a worker's attempt had already ended or been re-dispatched
    STALLED = 9  # a worker's transfer moved no byte for [workers] stall_seconds
    CONFLICT = 10  # a merge or template update left conflicts for a person to resolve
    INTERRUPTED = 128 + signal.SIGINT  # Ctrl-C
    TERMINATED = 128 + signal.SIGTERM  # SIGTERM


def first_line(
    exc: BaseException,
    default: str | None = None,
    *,
    typed: bool = False,
    limit: int | None = None,
) -> str:
    """An error as one line, the one helper for it: the first line of its message (driver
    errors run to several), or `default` — the exception's type name unless given — when it
    has none. `typed` puts the type's name in front (`KeyError: 'x'`, for an error nobody
    planned for); `limit` cuts the line to fit a table cell or a column."""
    text = str(exc).strip()
    name = type(exc).__name__
    if text:
        line = text.splitlines()[0]
        line = f"{name}: {line}" if typed else line
    else:
        line = name if default is None else default
    return line[:limit] if limit is not None else line


class RefineryError(Exception):
    """Root of every error Refinery raises on purpose."""

    exit_code: int = ExitCode.FAILURE


class ConfigError(RefineryError):
    """An environment file is missing, unknown or invalid."""

    exit_code = ExitCode.USAGE


class DatabaseError(RefineryError):
    """The database cannot be reached, started or migrated."""


class CommandError(RefineryError):
    """An external command (terraform, docker, pg_dump, ssh…) failed."""

    exit_code = ExitCode.COMMAND_FAILED


class JobError(RefineryError):
    """A job cannot be created, found or moved to the requested state."""


class StorageError(RefineryError):
    """The data lake refused an operation or holds something unexpected."""


class ValidationError(RefineryError):
    """Input (a sample sheet, an accession, a file) is malformed."""

    exit_code = ExitCode.USAGE


class PermanentJobError(JobError):
    """A job that no retry can make succeed (no handler for it, a payload it cannot use):
    the foreman fails it at once with this reason instead of retrying it."""
