"""Errors of the deploy area; each message is one line that says what to do next."""

from __future__ import annotations

from common.errors import ExitCode, RefineryError
from ops.release.errors import VersionRuleError

__all__ = ["DeployError", "DeployLockedError", "SmokeCheckError", "VersionRuleError"]


class DeployError(RefineryError):
    """A deploy or rollback could not start or did not finish."""


class DeployLockedError(DeployError):
    """Another deploy holds the environment's deploy lock."""

    exit_code = ExitCode.LOCK_HELD


class SmokeCheckError(DeployError):
    """The restarted foreman did not show a fresh heartbeat in time."""
