"""Errors of the release area; each message is one line that says what to do next."""

from __future__ import annotations

from common.errors import ExitCode, RefineryError


class ReleaseError(RefineryError):
    """A release tag or version cannot be made, found or trusted."""


class TagRefusedError(ReleaseError):
    """A tag is unsigned, signed by an unknown key, misplaced or not a release tag."""

    exit_code = ExitCode.REFUSED


class VersionRuleError(ReleaseError):
    """A version does not match the environment it is being deployed to."""

    exit_code = ExitCode.USAGE
