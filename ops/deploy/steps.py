"""The steps of a deploy and a rollback, and the one table the pipeline takes them from.

Each step is idempotent, so an interrupted deploy is finished by running it again:
image builds are tagged by version (a rebuild overwrites the same tag), a Terraform plan of
an applied stack is empty, job definitions are registered for a version, migrations skip what
is recorded, and restarting a foreman twice leaves one foreman. Each step returns small facts
(image references, counts, hosts) that go into the audit record; each has a `preview` that
says what it would do without changing anything, for `--dry-run`.

The images, Terraform and Batch steps call those areas' public APIs (`ops.images`,
`ops.tf`, `ops.batch`) with the inputs their own tasks use: the registry and base image
from `ops.default_registry` / `default_base_image`, the deployment values from
`ops.environment_outputs` (Terraform outputs, overridden by an `[outputs]` table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.db import connection
from common.environments import Environment
from common.settings.deployment import DeploySection
from foreman.migrations import apply_migrations
from ops.batch import registration
from ops.batch.definitions import render_job_definitions
from ops.deploy.audit import DeployRecord
from ops.deploy.errors import DeployError
from ops.deploy.smoke import database_now, wait_for_fresh_heartbeat
from ops.foreman_restart import (
    foreman_host,
    restart_command_for,
    restart_foreman,
)
from ops.images.build import IMAGE_NAMES, build_images, push_images
from ops.images.settings import (
    default_base_image,
    default_registry,
    environment_outputs,
    worker_image_reference,
)
from ops.lake.check import check_lake
from ops.lake.history import record_check_outcome
from ops.progress import Progress, quiet
from ops.tf.outputs import missing_outputs
from ops.tf.plan import DestructiveChangeError, PlanSummary, guard_plan
from ops.tf.render import render_plan_summary
from ops.tf.stack import apply_plan, plan_stack


@dataclass
class StepContext:
    """What a step sees: the environment, the release, earlier steps' facts, a reporter."""

    env: Environment
    settings: DeploySection
    version: str
    git_sha: str
    allow_destroy: bool
    record: DeployRecord
    report: Callable[[Any], None]
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Values passed between steps of this run only, never written to the audit log.
    scratch: dict[str, Any] = field(default_factory=dict)
    # Shows image builds and pushes as they go.
    progress: Progress = quiet


@dataclass(frozen=True)
class Step:
    """One deploy step: `run` does it and returns facts; `preview` only describes it."""

    name: str
    title: str
    run: Callable[[StepContext], dict[str, Any]]
    preview: Callable[[StepContext], list[str]]
    # A re-run of the same version and commit may reuse this step's recorded facts.
    reusable_on_resume: bool = False


# --- images -----------------------------------------------------------------------------


def build_and_push_images(ctx: StepContext) -> dict[str, Any]:
    registry = default_registry(ctx.env)
    built = build_images(
        registry=registry,
        version=ctx.version,
        git_sha=ctx.git_sha,
        base_image=default_base_image(ctx.env),
        progress=ctx.progress,
    )
    pushed = push_images(built, aws_endpoint_url=ctx.env.aws.endpoint_url, progress=ctx.progress)
    return {
        "pushed": [image.reference for image in pushed],
        "digests": {image.name: image.digest for image in pushed},
        # The job definitions run the workers image exactly as it was pushed.
        "worker_image": next(image.reference for image in pushed if image.name == "workers"),
    }


def preview_images(ctx: StepContext) -> list[str]:
    registry = default_registry(ctx.env)
    return [
        f"build {', '.join(IMAGE_NAMES)} FROM {default_base_image(ctx.env)} at "
        f"{ctx.git_sha[:12]}, tag {ctx.version}, push to {registry}"
    ]


# --- infrastructure ---------------------------------------------------------------------


def plan_counts(summary: PlanSummary) -> dict[str, int]:
    return {
        kind: len(getattr(summary, kind))
        for kind in ("creates", "updates", "replaces", "destroys", "protected_changes")
    }


def plan_and_apply(ctx: StepContext) -> dict[str, Any]:
    plan = plan_stack(ctx.env)
    summary = plan.summary
    ctx.record.plan = plan_counts(summary)
    ctx.report(render_plan_summary(summary))
    guard_plan(plan, allow_destroy=ctx.allow_destroy)
    if summary.has_changes:
        apply_plan(ctx.env, plan)
    else:
        plan.plan_file.unlink(missing_ok=True)  # nothing to apply: no reason to keep it
    outputs = environment_outputs(ctx.env)
    missing = missing_outputs(outputs)
    if missing:
        raise DeployError(
            f"the {ctx.env.name} stack does not output {', '.join(missing)}: the stack and "
            "ops/tf/outputs.py disagree; fix the stack and deploy again"
        )
    ctx.scratch["outputs"] = outputs
    return {**plan_counts(summary), "applied": summary.has_changes}


def preview_plan(ctx: StepContext) -> list[str]:
    plan = plan_stack(ctx.env)
    plan.plan_file.unlink(missing_ok=True)  # a dry run applies nothing: keep no plan around
    counts = plan_counts(plan.summary)
    ctx.record.plan = counts
    ctx.report(render_plan_summary(plan.summary))
    try:
        guard_plan(plan, allow_destroy=ctx.allow_destroy)
    except DestructiveChangeError as exc:  # shown, not raised: a dry run shows all
        return [f"REFUSED: {exc}"]
    if not plan.summary.has_changes:
        return ["infrastructure is up to date: nothing to apply"]
    return ["apply the plan: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())]


# --- job definitions --------------------------------------------------------------------


def register_job_definitions(ctx: StepContext) -> dict[str, Any]:
    image = ctx.facts.get("images", {}).get("worker_image")
    if not image:
        raise DeployError("no worker image recorded for this release; run the images step first")
    outputs = ctx.scratch.get("outputs")
    if outputs is None:  # a rollback does not plan: use what the stack holds now
        outputs = environment_outputs(ctx.env)
    registered = registration.register_job_definitions(
        ctx.env, version=ctx.version, image=image, outputs=outputs
    )
    return {"image": image, "definitions": [item.arn for item in registered]}


def preview_job_definitions(ctx: StepContext) -> list[str]:
    outputs = environment_outputs(ctx.env)
    image = ctx.facts.get("images", {}).get("worker_image") or worker_image_reference(
        ctx.env, ctx.version, outputs
    )
    # Rendering validates every template against the current outputs; nothing is sent.
    definitions = render_job_definitions(ctx.env, version=ctx.version, image=image, outputs=outputs)
    names = ", ".join(item["jobDefinitionName"] for item in definitions)
    return [f"register {len(definitions)} Batch job definitions with image {image}: {names}"]


# --- database ---------------------------------------------------------------------------


def migrate_database(ctx: StepContext) -> dict[str, Any]:
    with connection(ctx.env) as conn:
        report = apply_migrations(conn)
    return {"applied": report.applied, "already_applied": len(report.already_applied)}


def preview_migrations(ctx: StepContext) -> list[str]:
    with connection(ctx.env) as conn:
        report = apply_migrations(conn, dry_run=True)
    if not report.applied:
        return [f"schema up to date ({len(report.already_applied)} migrations applied)"]
    return [f"apply migrations {', '.join(report.applied)}"]


# --- foreman ----------------------------------------------------------------------------


def restart_foreman_step(ctx: StepContext) -> dict[str, Any]:
    hosts = foreman_host(ctx.env)
    restarted_at = database_now(ctx.env)
    results = restart_foreman(hosts, environment=ctx.env.name, version=ctx.version)
    ctx.scratch["restarted_at"] = restarted_at
    return {"hosts": [result.host for result in results], "restarted_at": restarted_at.isoformat()}


def preview_restart(ctx: StepContext) -> list[str]:
    hosts = foreman_host(ctx.env)
    command = restart_command_for(hosts, environment=ctx.env.name, version=ctx.version)
    return [f"on {', '.join(hosts.host_names)} as {hosts.user}: {command}"]


def smoke_check(ctx: StepContext) -> dict[str, Any]:
    since = ctx.scratch.get("restarted_at")
    if since is None:
        recorded = ctx.facts.get("restart_foreman", {}).get("restarted_at")
        if not recorded:
            raise DeployError("the smoke check needs the foreman restart step to run first")
        since = datetime.fromisoformat(recorded)
    beat = wait_for_fresh_heartbeat(
        ctx.env, since=since, timeout_seconds=ctx.settings.smoke_timeout_seconds
    )
    # The first lake check of a new environment runs here, so the lake-out-of-sync alarm has
    # a figure from the first deploy on; a difference is recorded (and alarmed), not fatal.
    lake = check_lake(ctx.env)
    recorded = record_check_outcome(ctx.env, lake, checksums=False)
    return {
        "foreman_id": beat.foreman_id,
        "hostname": beat.hostname,
        "pid": beat.pid,
        "foreman_version": beat.version,
        "beat_at": beat.beat_at.isoformat(),
        "lake_in_sync": lake.in_sync,
        "lake_check_recorded": recorded,
    }


def preview_smoke(ctx: StepContext) -> list[str]:
    return [
        f"wait up to {ctx.settings.smoke_timeout_seconds:g} s for a foreman heartbeat newer "
        "than the restart, then compare the catalog with the lake (inv lake.check)"
    ]


STEP_TABLE: dict[str, Step] = {
    step.name: step
    for step in (
        Step("images", "build and push images", build_and_push_images, preview_images, True),
        Step("infrastructure", "plan, guard and apply Terraform", plan_and_apply, preview_plan),
        Step(
            "job_definitions",
            "register Batch job definitions",
            register_job_definitions,
            preview_job_definitions,
        ),
        Step("migrate", "migrate the database", migrate_database, preview_migrations),
        Step(
            "restart_foreman", "restart the foreman over SSH", restart_foreman_step, preview_restart
        ),
        Step(
            "smoke_check",
            "wait for a fresh foreman heartbeat, check the lake",
            smoke_check,
            preview_smoke,
        ),
    )
}
DEPLOY_STEPS = (
    "images",
    "infrastructure",
    "job_definitions",
    "migrate",
    "restart_foreman",
    "smoke_check",
)
# A rollback keeps infrastructure and schema as they are (migrations only move forward) and
# points job definitions and the foreman back at the previous release's image.
ROLLBACK_STEPS = ("job_definitions", "restart_foreman", "smoke_check")
