"""`inv tf.*`: an environment's Terraform stack — plan, apply the reviewed plan, outputs, unlock."""

from __future__ import annotations

from invoke import Collection

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
from ops.tf import (
    apply_plan,
    force_unlock,
    guard_plan,
    plan_stack,
    read_outputs,
    render_plan_summary,
)


class ApplyDeclined(RefineryError):
    """The operator answered no (or could not be asked) before applying."""


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def plan(c, env, json=False):
    """Plan the environment's stack and show what applying it would change."""
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
def apply(c, env, allow_destroy=False, yes=False):
    """Plan, show, guard, then apply exactly that saved plan."""
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
def output(c, env, json=False):
    """Show the stack's outputs (what the deploy reads)."""
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
def unlock(c, env, lock_id):
    """Release a state lock left behind by a dead run."""
    settings = environment(env)
    force_unlock(settings, lock_id)
    console.print(f"{settings.name}: released state lock {lock_id}")


def _confirmed(name: str) -> bool:
    try:
        answer = input(f"apply this plan to {name}? type yes: ")
    except EOFError:
        return False
    return answer.strip().lower() == "yes"


def _display(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in sorted(value.items()))
    return "" if value is None else str(value)


ns = Collection("tf")
for _task in (plan, apply, output, unlock):
    ns.add_task(_task)
