"""Errors of the upstream area, and the exit code of each way an upgrade can end."""

from __future__ import annotations

from common.errors import RefineryError

# How `inv upstream.upgrade` / `upstream.template` exit, by the report's outcome.
EXIT_CODES = {
    "up-to-date": 0,
    "pushed": 0,
    "merged": 0,  # green, and --no-push was asked for
    "failed": 1,
    "conflict": 4,
    "tests-failed": 5,
}


class UpstreamError(RefineryError):
    """An upstream or template cannot be read, fetched or merged as asked."""
