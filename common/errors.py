"""The one exception hierarchy of Refinery.

Every error a person can act on derives from `RefineryError`; its message is one line that
says what went wrong and what to do next. Tasks turn it into `invoke.exceptions.Exit` so no
traceback reaches the terminal.
"""

from __future__ import annotations


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first line of an exception's message (driver errors run to several), or
    `default` — the exception's type name unless given — when it has none."""
    text = str(exc).strip()
    if text:
        return text.splitlines()[0]
    return type(exc).__name__ if default is None else default


class RefineryError(Exception):
    """Root of every error Refinery raises on purpose."""

    exit_code = 1


class ConfigError(RefineryError):
    """An environment file is missing, unknown or invalid."""

    exit_code = 2


class DatabaseError(RefineryError):
    """The database cannot be reached, started or migrated."""


class CommandError(RefineryError):
    """An external command (terraform, docker, pg_dump, ssh…) failed."""


class JobError(RefineryError):
    """A job cannot be created, found or moved to the requested state."""


class StorageError(RefineryError):
    """The data lake refused an operation or holds something unexpected."""


class ValidationError(RefineryError):
    """Input (a sample sheet, an accession, a file) is malformed."""

    exit_code = 2


class PermanentJobError(JobError):
    """A job that no retry can make succeed (no handler for it, a payload it cannot use):
    the foreman fails it at once with this reason instead of retrying it."""
