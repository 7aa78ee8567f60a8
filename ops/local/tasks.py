"""`inv local.*`: the embedded environment on this machine."""

from __future__ import annotations

from invoke import Collection

from common.db import connect, embedded_cluster
from foreman.migrations import apply_migrations
from foreman.service import foreman_pid, log_file, start_foreman_background, stop_foreman
from ops.taskkit import console, environment, task


@task
def up(c):
    """Start the local environment: embedded PostgreSQL, migrated schema, background foreman."""
    settings = environment("local")
    conn = connect(settings)
    try:
        apply_migrations(conn)
    finally:
        conn.close()
    running = foreman_pid(settings)
    pid = start_foreman_background(settings)
    verb = "already running" if running == pid else "started"
    console.print(f"foreman {verb} (pid {pid}, log {log_file(settings)})")
    console.print("local environment is up (inv jobs.status -e local; stop with inv local.down)")


@task
def down(c):
    """Stop the local environment: the foreman, then PostgreSQL (data is kept in .state/)."""
    settings = environment("local")
    console.print("foreman stopped" if stop_foreman(settings) else "foreman was not running")
    stopped = embedded_cluster().stop()
    console.print("local PostgreSQL stopped" if stopped else "local PostgreSQL was not running")


ns = Collection("local")
ns.add_task(up)
ns.add_task(down)


@task(
    bounds={"samples": (1, 6), "reads": (1, 100_000), "timeout": (1, 86_400)},
    help={
        "samples": "how many synthetic paired-end samples to deliver (1-6)",
        "reads": "read pairs per sample (1-100000)",
        "timeout": "seconds to wait for the jobs before giving up",
    },
)
def demo(c, samples=4, reads=3000, timeout=600):
    """Run the platform end to end on a synthetic delivery: survey, download, QC, report."""
    from ops.local.demo import run_demo

    up(c)
    run_demo(environment("local"), samples=samples, reads=reads, timeout=timeout)


ns.add_task(demo)
