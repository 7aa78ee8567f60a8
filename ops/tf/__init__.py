"""Terraform orchestration: init with the environment's backend, plan, guard, apply, outputs.

The public API that deploy code calls:

- `plan_stack(env, *, out_dir=None) -> TerraformPlan`
- `guard_plan(plan, *, allow_destroy) -> None` (raises `DestructiveChangeError`)
- `apply_plan(env, plan) -> None`
- `read_outputs(env) -> dict[str, Any]`
- `force_unlock(env, lock_id) -> None`
- `render_plan_summary(summary) -> rich.table.Table`
"""
