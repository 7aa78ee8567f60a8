"""The JSON report of an upgrade or template update: every step, written as it happens.

The report is saved after each step (`ops.stepreport`), so an upgrade that is interrupted still
says how far it got. It lives in the state folder (`upgrades/`) unless a path is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.environments import state_root
from common.errors import RefineryError
from ops.stepreport import StepReport


@dataclass(kw_only=True)
class UpgradeReport(StepReport):
    """Everything an upgrade did, in order; `outcome` is one of `errors.EXIT_CODES`."""

    kind: str  # "upstream" or "template"
    name: str
    repository: str
    source: dict[str, str] = field(default_factory=dict)
    base_branch: str = ""
    base_commit: str = ""
    branch: str = ""
    pushed: bool = False

    def run_step(self, name: str, action: Callable[[], tuple[str, dict[str, Any]]]) -> None:
        """Run `action` (returning a detail line and data), record it, save the report.

        A `StepFailed` records the step as failed with its outcome; any other Refinery error
        records it as failed too. Both end the upgrade (the caller stops at `finished`).
        """
        started = time.monotonic()
        try:
            detail, data = action()
        except StepFailed as exc:
            self.record(name, False, exc.detail, started, exc.data)
            self.finish(exc.outcome, exc.detail)
            raise
        except RefineryError as exc:
            self.record(name, False, str(exc), started)
            self.finish("failed", str(exc))
            raise StepFailed("failed", str(exc)) from None
        self.record(name, True, detail, started, data)


class StepFailed(Exception):
    """A step ended the upgrade with `outcome` (conflict, tests-failed, failed)."""

    def __init__(self, outcome: str, detail: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.data = data or {}


def default_report_path(kind: str, name: str) -> Path:
    """`<state>/upgrades/<time>-<kind>-<name>.json`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return state_root() / "upgrades" / f"{stamp}-{kind}-{name}.json"
