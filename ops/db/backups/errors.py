"""Errors of the backups area, all rooted in `RefineryError` so tasks print one line."""

from __future__ import annotations

from common.errors import ExitCode, RefineryError


class BackupError(RefineryError):
    """A backup cannot be taken, found, verified or restored."""


class BackupNotFoundError(BackupError):
    """No backup of that name exists for the environment."""

    exit_code = ExitCode.NOT_FOUND


class BackupCorruptError(BackupError):
    """A backup's files do not match its manifest, or it does not restore to what it claims."""

    exit_code = ExitCode.OUT_OF_SYNC
