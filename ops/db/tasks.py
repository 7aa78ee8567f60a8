"""`inv db.*`: the environment's database schema (and, in their own modules, its backups)."""

from __future__ import annotations

from pathlib import Path

from invoke import Collection

from common.db import connect
from foreman.migrations import apply_migrations
from ops.db import backup_tasks as backups
from ops.db.schema_diagram import FORMATS, render, schema_dot
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


@task(
    help={
        "env": ENV_HELP,
        "format": f"output format: {', '.join(FORMATS)} (default svg)",
        "output": "file to write (default .state/<env>/schema.<format>)",
    }
)
def schema_diagram(c, env, format="svg", output=""):
    """Draw the schema from the live catalog: tables grouped by area, with foreign keys."""
    settings = environment(env)
    conn = connect(settings)
    try:
        text = schema_dot(conn)
    finally:
        conn.close()
    target = Path(output) if output else settings.state_dir / f"schema.{format}"
    console.print(f"{settings.name}: schema diagram written to {render(text, target, format)}")


ns = Collection("db")
ns.add_task(migrate)
ns.add_task(schema_diagram)
backups.add_to(ns)
