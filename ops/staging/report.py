"""Rehearsal reports: what a staging refresh did, kept in the staging environment's state
folder (`rehearsals/<id>.json`), and the check a production deploy makes against them.

A report is written when the refresh starts (outcome "running") and again after every step,
so a refresh that was killed leaves a report that says how far it got — and is never green.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.environments import Environment
from common.errors import first_line
from ops.staging.errors import RehearsalRequiredError
from ops.stepreport import StepReport

REHEARSALS_DIR = "rehearsals"


@dataclass(kw_only=True)
class RehearsalReport(StepReport):
    """One refresh of `environment` from `source_environment`; green when outcome is
    "succeeded"."""

    id: str
    environment: str
    source_environment: str
    commit: str
    source_backup: dict[str, Any] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def green(self) -> bool:
        return self.outcome == "succeeded"

    def run_step(self, name: str, action: Callable[[], str]) -> None:
        """Run `action` (returning a detail line), record it, save; a failure is recorded,
        marks the report failed and is raised again."""
        started = time.monotonic()
        try:
            detail = action()
        except BaseException as exc:  # recorded whatever it was, then raised again
            message = first_line(exc, "interrupted" if isinstance(exc, KeyboardInterrupt) else None)
            self.record(name, False, message, started)
            self.finish("failed", f"{name}: {message}")
            raise
        self.record(name, True, detail, started)


def new_report(env: Environment, source: Environment, commit: str) -> RehearsalReport:
    report_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = env.state_dir / REHEARSALS_DIR / f"{report_id}.json"
    report = RehearsalReport(
        id=report_id, environment=env.name, source_environment=source.name, commit=commit,
        path=str(path),
    )  # fmt: skip
    report.save()
    return report


def rehearsal_reports(env: Environment) -> list[dict[str, Any]]:
    """Every rehearsal report of `env`, oldest first (unreadable files are skipped)."""
    folder = env.state_dir / REHEARSALS_DIR
    reports = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports


def require_green_rehearsal(env: Environment, commit: str, target_name: str) -> dict:
    """The newest green rehearsal of `commit` on `env` (where `target_name`'s releases are
    rehearsed), or RehearsalRequiredError."""
    reports = rehearsal_reports(env)
    green = [r for r in reports if r.get("outcome") == "succeeded" and r.get("commit") == commit]
    if green:
        return green[-1]
    how = f"inv staging.refresh -e {env.name} --from {target_name} --execute"
    if not reports:
        seen = "there is none"
    else:
        latest = reports[-1]
        seen = (
            f"the latest ({latest.get('id')}) is {latest.get('outcome')} for commit "
            f"{str(latest.get('commit', ''))[:12]}"
        )
    raise RehearsalRequiredError(
        f"{target_name} requires a green rehearsal on {env.name} of commit {commit[:12]} "
        f"and {seen}; run {how} from this commit first"
    )
