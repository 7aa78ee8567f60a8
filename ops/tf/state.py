"""What an environment's Terraform state holds: one row per resource instance.

Read with `terraform show -json` (the state, not a plan), so each row can say whether the
resource is protected by the same rule the destructive guard applies (`ops.tf.plan`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from python_terraform import IsFlagged

from common.environments import Environment
from common.errors import CommandError
from ops.tf.plan import is_protected
from ops.tf.runner import check_result, init_stack


@dataclass(frozen=True)
class StateResource:
    """One managed resource instance in the state."""

    address: str
    type: str
    id: str
    protected: bool


def state_resources(env: Environment) -> list[StateResource]:
    """Every managed resource in `env`'s state, sorted by address."""
    tf, settings = init_stack(env)
    code, out, err = tf.cmd("show", json=IsFlagged, no_color=IsFlagged)
    check_result(env, "show", code, out, err)
    try:
        state = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError as exc:
        raise CommandError(f"{env.name}: terraform show -json was not JSON ({exc})") from None
    root = (state.get("values") or {}).get("root_module") or {}
    rows = [
        StateResource(
            address=item["address"],
            type=item.get("type", ""),
            id=str((item.get("values") or {}).get("id", "")),
            protected=is_protected(
                {"address": item["address"], "change": {"before": item.get("values")}},
                settings.protected_patterns,
            ),
        )
        for item in _resources(root)
        if item.get("mode") == "managed"
    ]
    return sorted(rows, key=lambda row: row.address)


def _resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _resources(child)
