"""`inv local.*`: the embedded environment on this machine."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import console, environment, task


@task
def up(c: Context) -> None:
    """Start the local environment: embedded PostgreSQL, migrated schema, background foreman."""
    from ops.local.lifecycle import bring_up

    report = bring_up(environment("local"))
    verb = "already running" if report.foreman_was_running else "started"
    console.print(f"foreman {verb} (pid {report.foreman_pid}, log {report.foreman_log})")
    if report.metrics_address:
        console.print(f"metrics on http://{report.metrics_address}/metrics")
    console.print("local environment is up (inv jobs.status -e local; stop with inv local.down)")


@task
def down(c: Context) -> None:
    """Stop the local environment: every foreman, then PostgreSQL (data is kept in .state/).

    It stays stopped until `inv local.up`: commands that need its database say so and exit.
    """
    from ops.local.lifecycle import shut_down

    report = shut_down(environment("local"))
    if not report.foremen:
        console.print("foreman was not running")
    elif len(report.foremen) == 1:
        console.print("foreman stopped")
    else:
        pids = ", ".join(map(str, report.foremen))
        console.print(f"{len(report.foremen)} foremen stopped (pids {pids})")
    stopped = report.postgres_stopped
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
def demo(c: Context, samples: int = 4, reads: int = 3000, timeout: int = 600) -> None:
    """Run the platform end to end on a synthetic delivery: survey, download, QC, report."""
    from ops.local.demo import run_demo

    up(c)
    run_demo(environment("local"), samples=samples, reads=reads, timeout=timeout)


ns.add_task(demo)


@task
def report(c: Context) -> None:
    """Write the local environment's QC report (FASTQ QC, RNA-seq mapping rates, heatmaps)."""
    from ops.local.qc_report import write_qc_report

    settings = environment("local")
    path = write_qc_report(settings, settings.state_dir / "reports" / "qc_report.html")
    console.print(f"QC report: {path}")


ns.add_task(report)
