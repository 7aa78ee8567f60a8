"""`inv batch.*`: AWS Batch job definitions of an environment (register, prune)."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(
    help={
        "env": ENV_HELP,
        "version": "image version to run (default: the short git commit)",
        "image": "full workers image reference (default: <registry>/workers:<version>)",
        "json": JSON_HELP,
    }
)
def register(c: Context, env: str, version: str = "", image: str = "", json: bool = False) -> None:
    """Register job definitions for every pipeline and memory tier."""
    from ops.batch.registration import register_job_definitions
    from ops.images.settings import default_version, environment_outputs, worker_image_reference

    settings = environment(env)
    version = version or default_version()
    outputs = environment_outputs(settings)
    image = image or worker_image_reference(settings, version, outputs)
    registered = register_job_definitions(settings, version=version, image=image, outputs=outputs)
    if json:
        print_json([item.__dict__ for item in registered])
        return
    rows = [(r.name, r.revision, r.memory_mb, r.image) for r in registered]
    print_table("Job definitions registered", ("name", "revision", "memory MB", "image"), rows)


@task(
    help={
        "env": ENV_HELP,
        "keep": "newest ACTIVE revisions to keep per definition (default: the environment's "
        "[batch] keep_revisions)",
        "execute": "really deregister (default: dry run that lists what would go)",
        "json": JSON_HELP,
    }
)
def prune(c: Context, env: str, keep: int = 0, execute: bool = False, json: bool = False) -> None:
    """Deregister old job-definition revisions, keeping N (dry run by default)."""
    from common.settings.jobs import BatchSettings
    from ops.batch.registration import prune_job_definitions

    settings = environment(env)
    keep = int(keep) or BatchSettings.for_environment(settings).keep_revisions
    pruned = prune_job_definitions(settings, keep=keep, dry_run=not execute)
    if json:
        print_json([item.__dict__ for item in pruned])
        return
    verb = "deregistered" if execute else "would deregister"
    rows = [(p.name, p.revision, p.arn) for p in pruned]
    print_table(f"Revisions {verb} (keeping {keep})", ("name", "revision", "arn"), rows)
    if not execute and pruned:
        console.print(f"dry run: {len(pruned)} revision(s) kept; pass --execute to deregister")
    elif not pruned:
        console.print(f"nothing to prune: every definition has at most {keep} revisions")


ns = Collection("batch")
ns.add_task(register)
ns.add_task(prune)
