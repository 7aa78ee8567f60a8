"""`inv sandbox.up | sandbox.status | sandbox.down`: rehearse a release before touching AWS.

The sandbox is the staging shape on this machine (infrastructure/environments/sandbox.toml;
ops/sandbox/lifecycle.py says what runs where). Deploy to it like to staging:
`inv deploy -e sandbox -v v1.2.3-dev`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from invoke import Collection, Context

from ops.taskkit import JSON_HELP, console, environment, err_console, print_json, print_table, task

if TYPE_CHECKING:
    from ops.sandbox.lifecycle import ServiceStatus

SANDBOX_ENV_HELP = "the sandbox environment (default: sandbox)"


def _progress(message: str) -> None:
    err_console.print(f"[dim]… {message}[/dim]")


def _render(title: str, rows: list[ServiceStatus], json: bool) -> None:
    if json:
        print_json([asdict(row) for row in rows])
        return
    print_table(
        title,
        ["service", "state", "address", "pid", "detail"],
        [(row.name, row.state, row.address, row.pid, row.detail) for row in rows],
    )


@task(help={"env": SANDBOX_ENV_HELP, "json": JSON_HELP})
def up(c: Context, env: str = "sandbox", json: bool = False) -> None:
    """Start the sandbox (emulator, engine, registry, foreman host, database): idempotent."""
    from ops.sandbox.lifecycle import sandbox_up

    settings = environment(env)
    rows = sandbox_up(settings, progress=_progress)
    _render(f"sandbox {settings.name}: up", rows, json)
    if not json:
        console.print(f"deploy to it: inv deploy -e {settings.name} -v vX.Y.Z-dev")


@task(help={"env": SANDBOX_ENV_HELP, "json": JSON_HELP})
def status(c: Context, env: str = "sandbox", json: bool = False) -> None:
    """Show the sandbox's services: running or not, where, which pid."""
    from ops.sandbox.lifecycle import sandbox_status

    settings = environment(env)
    _render(f"sandbox {settings.name}", sandbox_status(settings), json)


@task(help={"env": SANDBOX_ENV_HELP, "json": JSON_HELP})
def down(c: Context, env: str = "sandbox", json: bool = False) -> None:
    """Stop every process the sandbox started (by pid); keys, images and backups stay."""
    from ops.sandbox.lifecycle import sandbox_down

    settings = environment(env)
    rows = sandbox_down(settings, progress=_progress)
    _render(f"sandbox {settings.name}: down", rows, json)


ns = Collection("sandbox")
ns.add_task(up)
ns.add_task(status)
ns.add_task(down)
