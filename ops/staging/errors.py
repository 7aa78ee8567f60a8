"""Errors of the staging area; each message is one line that says what to do next."""

from __future__ import annotations

from common.errors import ExitCode, RefineryError


class RefreshError(RefineryError):
    """A staging refresh cannot start, or one of its steps failed (staging is unchanged)."""


class RehearsalRequiredError(RefineryError):
    """A deploy needs a green rehearsal of its commit and there is none."""

    exit_code = ExitCode.REFUSED
