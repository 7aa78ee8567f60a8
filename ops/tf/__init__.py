"""Terraform orchestration: init with the environment's backend, plan, guard, apply, outputs.

The public API that deploy code calls:

- `plan_stack(env, *, out_dir=None) -> TerraformPlan`
- `guard_plan(plan, *, allow_destroy) -> None` (raises `DestructiveChangeError`)
- `apply_plan(env, plan) -> None`
- `read_outputs(env) -> dict[str, Any]`
- `force_unlock(env, lock_id) -> None`
- `render_plan_summary(summary) -> rich.table.Table`
"""

from __future__ import annotations

from ops.tf.outputs import REQUIRED_OUTPUTS, missing_outputs, read_outputs
from ops.tf.plan import (
    DestructiveChangeError,
    PlanSummary,
    TerraformPlan,
    guard_plan,
    summarize_plan,
)
from ops.tf.render import render_plan_summary
from ops.tf.runner import StateLockedError
from ops.tf.stack import apply_plan, force_unlock, plan_stack

__all__ = [
    "REQUIRED_OUTPUTS",
    "DestructiveChangeError",
    "PlanSummary",
    "StateLockedError",
    "TerraformPlan",
    "apply_plan",
    "force_unlock",
    "guard_plan",
    "missing_outputs",
    "plan_stack",
    "read_outputs",
    "render_plan_summary",
    "summarize_plan",
]
