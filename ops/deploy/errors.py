"""Errors of the deploy area; each message is one line that says what to do next."""

from __future__ import annotations

from common.errors import ExitCode, RefineryError
from ops.release.errors import VersionRuleError

__all__ = ["DeployError", "DeployLockedError", "SmokeCheckError", "VersionRuleError"]


class DeployError(RefineryError):
    """A deploy or rollback could not start or did not finish."""


class NothingToRollBackError(DeployError):
    """No earlier successful release is recorded: a rollback has nowhere to go. Nothing was
    changed; the exit code says "not found" rather than "failed"."""

    exit_code = ExitCode.NOT_FOUND


class DeployLockedError(DeployError):
    """Another deploy holds the environment's deploy lock."""

    exit_code = ExitCode.LOCK_HELD


class SmokeCheckError(DeployError):
    """The restarted foreman did not show a fresh heartbeat in time."""
