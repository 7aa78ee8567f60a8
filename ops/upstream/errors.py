"""Errors of the upstream area, and the exit code of each way an upgrade can end."""

from __future__ import annotations

from common.errors import ExitCode, RefineryError

# How `inv upstream.upgrade` / `upstream.template` exit, by the report's outcome.
EXIT_CODES = {
    "up-to-date": ExitCode.OK,
    "pushed": ExitCode.OK,
    "merged": ExitCode.OK,  # green, and --no-push was asked for
    "failed": ExitCode.FAILURE,
    "conflict": ExitCode.CONFLICT,
    "tests-failed": ExitCode.OUT_OF_SYNC,  # the merged tree did not pass its own tests
}


class UpstreamError(RefineryError):
    """An upstream or template cannot be read, fetched or merged as asked."""
