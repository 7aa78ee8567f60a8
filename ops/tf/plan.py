"""What a saved Terraform plan would do, and the guard against destroying protected resources.

A plan's `show -json` is reduced to addresses grouped by action. A resource is *protected*
when its address matches one of the environment's `[terraform] protected` patterns (fnmatch),
or when its current state carries `protected = "true"` in its tags (AWS resources) or its
triggers (the null stand-ins of the test stack). Destroying or replacing a protected resource
loses data (the database, the lake, the backups, the lock table), so `guard_plan` refuses such
a plan unless the caller explicitly allows it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ExitCode, RefineryError

PROTECTED_MARKER = "protected"
_MARKER_CONTAINERS = ("tags", "tags_all", "triggers")


class DestructiveChangeError(RefineryError):
    """A plan would destroy or replace a protected resource."""

    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class PlanSummary:
    """Resource addresses by what the plan does to them."""

    creates: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    destroys: list[str] = field(default_factory=list)
    protected_changes: list[str] = field(default_factory=list)
    output_changes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """True when applying would change any resource or output."""
        return bool(
            self.creates or self.updates or self.replaces or self.destroys or self.output_changes
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "creates": self.creates,
            "updates": self.updates,
            "replaces": self.replaces,
            "destroys": self.destroys,
            "protected_changes": self.protected_changes,
            "output_changes": self.output_changes,
            "has_changes": self.has_changes,
        }


@dataclass(frozen=True)
class TerraformPlan:
    """A saved plan file, what it does, and the raw `show -json` it was read from."""

    environment: str
    plan_file: Path
    summary: PlanSummary
    raw: dict[str, Any]


def summarize_plan(raw: Mapping[str, Any], protected_patterns: Iterable[str] = ()) -> PlanSummary:
    """Group the plan's resource changes by action and find the protected ones at risk."""
    patterns = tuple(protected_patterns)
    creates: list[str] = []
    updates: list[str] = []
    replaces: list[str] = []
    destroys: list[str] = []
    protected: list[str] = []
    for change in raw.get("resource_changes") or []:
        if change.get("mode") == "data":
            continue
        address = change["address"]
        actions = set(change.get("change", {}).get("actions", []))
        if {"delete", "create"} <= actions:
            replaces.append(address)
        elif "delete" in actions:
            destroys.append(address)
        elif "create" in actions:
            creates.append(address)
        elif "update" in actions:
            updates.append(address)
        if "delete" in actions and is_protected(change, patterns):
            protected.append(address)
    outputs = [
        name
        for name, change in (raw.get("output_changes") or {}).items()
        if set(change.get("actions", [])) - {"no-op"}
    ]
    return PlanSummary(
        creates=sorted(creates),
        updates=sorted(updates),
        replaces=sorted(replaces),
        destroys=sorted(destroys),
        protected_changes=sorted(protected),
        output_changes=sorted(outputs),
    )


def is_protected(change: Mapping[str, Any], patterns: Iterable[str]) -> bool:
    """Protected by address pattern, or by a `protected = "true"` tag or trigger."""
    address = change.get("address", "")
    if any(fnmatch.fnmatchcase(address, pattern) for pattern in patterns):
        return True
    before = change.get("change", {}).get("before") or {}
    for container in _MARKER_CONTAINERS:
        marks = before.get(container) or {}
        if isinstance(marks, Mapping) and str(marks.get(PROTECTED_MARKER, "")).lower() == "true":
            return True
    return False


def guard_plan(plan: TerraformPlan, *, allow_destroy: bool) -> None:
    """Refuse a plan that destroys or replaces a protected resource, unless allowed."""
    at_risk = plan.summary.protected_changes
    if at_risk and not allow_destroy:
        raise DestructiveChangeError(
            f"{plan.environment}: the plan would destroy or replace protected resources "
            f"({', '.join(at_risk)}); nothing was applied — fix the change, or re-run with "
            "--allow-destroy if losing them is intended"
        )
