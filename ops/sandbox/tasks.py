"""`inv sandbox.up | sandbox.status | sandbox.down`: rehearse a release before touching AWS.

The sandbox is the staging shape on this machine (infrastructure/environments/sandbox.toml;
ops/sandbox/lifecycle.py says what runs where). Deploy to it like to staging:
`inv deploy -e sandbox -v v1.2.3-dev`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from invoke import Collection, Context

from ops.progress import progress_display
from ops.taskkit import JSON_HELP, console, environment, err_console, print_json, print_table, task

if TYPE_CHECKING:
    from ops.sandbox.lifecycle import ServiceStatus

SANDBOX_ENV_HELP = "the sandbox environment (default: sandbox)"


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
    with progress_display() as progress:
        rows = sandbox_up(settings, progress=progress)
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
    with progress_display() as progress:
        rows = sandbox_down(settings, progress=progress)
    _render(f"sandbox {settings.name}: down", rows, json)


@task(
    bounds={"samples": (1, 4), "reads": (1, 100_000)},
    help={
        "env": SANDBOX_ENV_HELP,
        "samples": "paired-end samples in the delivery (1-4, default 2)",
        "reads": "read pairs per sample (default 400)",
    },
)
def delivery(c: Context, env: str = "sandbox", samples: int = 2, reads: int = 400) -> None:
    """Put a synthetic delivery into the sandbox's S3 and print its s3:// source to survey."""
    from ops.sandbox.delivery import upload_demo_delivery

    settings = environment(env)
    with progress_display() as progress:
        source = upload_demo_delivery(settings, samples=samples, reads=reads, progress=progress)
    print(source)  # alone on stdout: source=$(inv sandbox.delivery)
    err_console.print(f"survey it with: inv jobs.survey -e {settings.name} {source} --wait")


ns = Collection("sandbox")
ns.add_task(up)
ns.add_task(status)
ns.add_task(down)
ns.add_task(delivery)
