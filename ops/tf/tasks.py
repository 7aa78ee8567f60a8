"""`inv tf.*`: an environment's Terraform stack — plan, apply the reviewed plan, outputs, unlock,
and the maintenance verbs: the state's resources, replacing one of them, tearing it all down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context

from common.errors import RefineryError
from ops.taskkit import (
    ENV_HELP,
    JSON_HELP,
    console,
    environment,
    print_json,
    print_table,
    styled,
    task,
)

if TYPE_CHECKING:
    from ops.tf.plan import TerraformPlan


class ApplyDeclined(RefineryError):
    """The operator answered no (or could not be asked) before applying."""


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def plan(c: Context, env: str, json: bool = False) -> None:
    """Plan the environment's stack and show what applying it would change."""
    from ops.tf.render import render_plan_summary
    from ops.tf.stack import plan_stack

    settings = environment(env)
    result = plan_stack(settings)
    if json:
        print_json({"plan_file": str(result.plan_file), **result.summary.as_dict()})
        return
    console.print(render_plan_summary(result.summary, title=f"Terraform plan: {settings.name}"))
    console.print(f"plan saved to {result.plan_file}")
    if result.summary.protected_changes:
        console.print(
            styled(
                "this plan destroys or replaces protected resources: "
                "tf.apply will refuse it without --allow-destroy",
                "bold red",
            )
        )


@task(
    help={
        "env": ENV_HELP,
        "allow_destroy": "let the plan destroy or replace protected resources (database, buckets…)",
        "yes": "apply without asking for confirmation (CI)",
    }
)
def apply(c: Context, env: str, allow_destroy: bool = False, yes: bool = False) -> None:
    """Plan, show, guard, then apply exactly that saved plan."""
    from ops.tf.outputs import read_outputs
    from ops.tf.plan import guard_plan
    from ops.tf.render import render_plan_summary
    from ops.tf.stack import apply_plan, plan_stack

    settings = environment(env)
    result = plan_stack(settings)
    console.print(render_plan_summary(result.summary, title=f"Terraform plan: {settings.name}"))
    guard_plan(result, allow_destroy=allow_destroy)
    if not result.summary.has_changes:
        console.print(f"{settings.name}: infrastructure is up to date, nothing to apply")
    else:
        if not yes and not _confirmed(settings.name):
            raise ApplyDeclined(f"{settings.name}: not applied (answer yes, or pass --yes)")
        apply_plan(settings, result)
        console.print(f"{settings.name}: applied {result.plan_file.name}")
    read_outputs(settings)  # kept for settings that name an output (database host)


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def output(c: Context, env: str, json: bool = False) -> None:
    """Show the stack's outputs (what the deploy reads)."""
    from ops.tf.outputs import read_outputs

    settings = environment(env)
    values = read_outputs(settings)
    if json:
        print_json(values)
        return
    print_table(
        f"Terraform outputs: {settings.name}",
        ["output", "value"],
        sorted((name, _display(value)) for name, value in values.items()),
    )


@task(help={"env": ENV_HELP, "lock_id": "the lock ID terraform printed (Lock Info: ID)"})
def unlock(c: Context, env: str, lock_id: str) -> None:
    """Release a state lock left behind by a dead run."""
    from ops.tf.stack import force_unlock

    settings = environment(env)
    force_unlock(settings, lock_id)
    console.print(f"{settings.name}: released state lock {lock_id}")


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def state(c: Context, env: str, json: bool = False) -> None:
    """List the resources in the environment's Terraform state (protected ones marked)."""
    from ops.tf.state import state_resources

    settings = environment(env)
    rows = state_resources(settings)
    if json:
        print_json([vars(row) for row in rows])
        return
    print_table(
        f"Terraform state: {settings.name}",
        ["address", "type", "id", "protected"],
        [(r.address, r.type, r.id, "yes" if r.protected else "") for r in rows],
        caption=f"{len(rows)} resources",
    )


@task(
    help={
        "env": ENV_HELP,
        "address": "the resource address to replace, as inv tf.state lists it",
        "allow_destroy": "let it replace a protected resource (database, buckets…)",
        "yes": "apply without asking for confirmation",
    }
)
def replace(
    c: Context, env: str, address: str, allow_destroy: bool = False, yes: bool = False
) -> None:
    """Plan and apply a replacement of one resource (what terraform taint did), guarded."""
    from ops.tf.stack import plan_stack
    from ops.tf.state import state_resources

    settings = environment(env)
    known = {row.address for row in state_resources(settings)}
    if address not in known:
        raise RefineryError(
            f"{settings.name}: no resource {address} in the state (inv tf.state -e {env})"
        )
    result = plan_stack(settings, replace=[address])
    _show_guard_apply(settings.name, result, allow_destroy, yes, prompt="yes")


@task(
    help={
        "env": ENV_HELP,
        "allow_destroy": "let it destroy protected resources (database, buckets…)",
        "yes": "destroy without typing the environment's name back",
    }
)
def destroy(c: Context, env: str, allow_destroy: bool = False, yes: bool = False) -> None:
    """Tear the environment's stack down: plan, show, guard, type its name, then destroy."""
    from ops.tf.stack import plan_stack

    settings = environment(env)
    result = plan_stack(settings, destroy=True)
    _show_guard_apply(settings.name, result, allow_destroy, yes, prompt=settings.name)


def _show_guard_apply(
    name: str, result: TerraformPlan, allow_destroy: bool, yes: bool, *, prompt: str
) -> None:
    """The one path of every change: show the saved plan, guard it, confirm, apply it."""
    from ops.tf.plan import guard_plan
    from ops.tf.render import render_plan_summary

    console.print(render_plan_summary(result.summary, title=f"Terraform plan: {name}"))
    try:
        guard_plan(result, allow_destroy=allow_destroy)
        if not result.summary.has_changes:
            console.print(f"{name}: nothing to change")
            return
        if not yes and not _confirmed(name, prompt):
            raise ApplyDeclined(f"{name}: not applied (type {prompt!r}, or pass --yes)")
    except RefineryError:
        result.plan_file.unlink(missing_ok=True)
        raise
    apply_plan_from_task(name, result)


def apply_plan_from_task(name: str, result: TerraformPlan) -> None:
    from ops.tf.stack import apply_plan

    apply_plan(environment(name), result)
    console.print(f"{name}: applied {result.plan_file.name}")


def _confirmed(name: str, word: str = "yes") -> bool:
    question = "type yes" if word == "yes" else "type the environment's name"
    try:
        answer = input(f"apply this plan to {name}? {question}: ")
    except EOFError:
        return False
    return answer.strip() == word if word != "yes" else answer.strip().lower() == "yes"


def _display(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in sorted(value.items()))
    return "" if value is None else str(value)


ns = Collection("tf")
ns.add_task(plan)
ns.add_task(apply)
ns.add_task(output)
ns.add_task(unlock)
ns.add_task(state)
ns.add_task(replace)
ns.add_task(destroy)
