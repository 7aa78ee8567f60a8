"""`inv db.*`: the environment's database schema (and, in their own modules, its backups)."""

from __future__ import annotations

from invoke import Collection

from common.db import connect
from foreman.migrations import apply_migrations
from ops.db import backup_tasks as backups
from ops.taskkit import ENV_HELP, console, environment, task


@task(help={"env": ENV_HELP, "dry_run": "list pending migrations without applying them"})
def migrate(c, env, dry_run=False):
    """Apply pending schema migrations (safe to re-run)."""
    settings = environment(env)
    conn = connect(settings)
    try:
        report = apply_migrations(conn, dry_run=dry_run)
    finally:
        conn.close()
    verb = "would apply" if dry_run else "applied"
    if report.applied:
        console.print(f"{settings.name}: {verb} {', '.join(report.applied)}")
    else:
        console.print(f"{settings.name}: schema up to date ({len(report.already_applied)} applied)")


ns = Collection("db")
ns.add_task(migrate)
backups.add_to(ns)
