"""Plan, apply and unlock an environment's stack: the verbs deploy code calls.

A change always goes plan → (show, guard) → apply *that saved plan*: what was reviewed and
guarded is exactly what runs. If the state moved in between, Terraform refuses the stale plan.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from python_terraform import IsFlagged

from common.environments import Environment
from common.errors import CommandError
from common.shell import Value, refuse_option_like
from ops.tf.plan import TerraformPlan, summarize_plan
from ops.tf.runner import check_result, init_stack

log = logging.getLogger(__name__)
# `plan -detailed-exitcode`: 0 = no changes, 2 = changes present; anything else failed.
_PLAN_OK = (0, 2)


def plan_stack(
    env: Environment,
    *,
    out_dir: Path | None = None,
    destroy: bool = False,
    replace: Sequence[str] = (),
) -> TerraformPlan:
    """Plan `env`'s stack into a file and summarise what applying it would do.

    `destroy` plans the stack's teardown; `replace` forces new copies of those resource
    addresses (`terraform plan -replace`, what `taint` used to do, but reviewed first).
    """
    tf, settings = init_stack(env)
    out_dir = Path(out_dir) if out_dir else env.state_dir / "terraform" / "plans"
    # A plan file holds variable values and a state snapshot: private to this user.
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    plan_file = out_dir / f"{env.name}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns()}.tfplan"
    code, out, err = tf.plan(
        var=settings.variables or None,  # a temporary var file: values stay out of argv
        var_file=str(settings.var_file) if settings.var_file else None,
        out=str(plan_file),
        destroy=IsFlagged if destroy else None,
        replace=list(replace) or None,
    )
    if code not in _PLAN_OK:
        check_result(env, "plan", code or 1, out, err)
    plan_file.chmod(0o600)
    code, out, err = tf.cmd("show", str(plan_file), json=IsFlagged, no_color=IsFlagged)
    check_result(env, "show", code, out, err)
    try:
        raw = json.loads(out)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{env.name}: terraform show -json was not JSON ({exc})") from None
    summary = summarize_plan(raw, settings.protected_patterns)
    log.info(
        "planned %s: %d create, %d update, %d replace, %d destroy",
        env.name,
        len(summary.creates),
        len(summary.updates),
        len(summary.replaces),
        len(summary.destroys),
        extra={"env": env.name, "plan_file": str(plan_file)},
    )
    return TerraformPlan(environment=env.name, plan_file=plan_file, summary=summary, raw=raw)


def apply_plan(env: Environment, plan: TerraformPlan) -> None:
    """Apply exactly the saved `plan` (guard it first with `guard_plan`)."""
    if plan.environment != env.name:
        raise CommandError(
            f"plan {plan.plan_file.name} was made for {plan.environment}, not {env.name}: "
            "plan this environment first"
        )
    if not plan.plan_file.is_file():
        raise CommandError(f"{env.name}: plan file {plan.plan_file} is gone: plan again")
    tf, _ = init_stack(env)
    # A saved plan carries its variables; Terraform refuses -var/-var-file next to it.
    code, out, err = tf.apply(str(plan.plan_file), var=None, var_file=None)
    check_result(env, "apply", code, out, err)
    # Applied, the plan is spent (Terraform would call it stale) and only a liability to keep.
    plan.plan_file.unlink(missing_ok=True)


def force_unlock(env: Environment, lock_id: str) -> None:
    """Release the state lock `lock_id` left behind by a dead run."""
    if not lock_id or not lock_id.strip():
        raise CommandError("give the lock ID that terraform printed (Lock Info: ID)")
    lock = Value(lock_id.strip())
    refuse_option_like(["terraform", lock])  # before init, which takes a while
    tf, _ = init_stack(env)
    code, out, err = tf.cmd("force-unlock", lock, force=IsFlagged, no_color=IsFlagged)
    check_result(env, "force-unlock", code, out, err)
