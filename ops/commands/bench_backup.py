"""`inv bench.backup`: time the old `pg_dump | gzip` practice against Refinery's backups.

Exports the task `backup`; the `bench` collection adds it (`bench_ns.add_task(backup)`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ops.backups.bench import run_backup_benchmark
from ops.commands.backups import human_size
from ops.taskkit import console, err_console, print_table, task


@task(
    help={
        "scale": "pgbench scale (60 ≈ 0.9 GB; 1 for a smoke run)",
        "work_dir": "folder for the benchmark's own cluster and backups (default: a temp dir)",
    }
)
def backup(c, scale=60, work_dir=""):
    """Time pg_dump|gzip and gunzip|psql against db.backup/db.restore, logical and physical."""
    with tempfile.TemporaryDirectory(dir=work_dir or None, prefix="bench-backup-") as scratch:
        result = run_backup_benchmark(
            Path(scratch), scale=int(scale),
            progress=lambda message: err_console.print(f"[dim]… {message}[/dim]"),
        )  # fmt: skip
    print_table(
        f"backup benchmark (pgbench scale {result.scale}, {human_size(result.database_bytes)})",
        ["step", "seconds"],
        [(step, f"{value:.2f}") for step, value in result.seconds.items()],
    )
    for label, (ratio, target) in result.ratios().items():
        verdict = "meets" if ratio <= target else "MISSES"
        console.print(f"{label}: {ratio:.2f} ({verdict} the target ≤ {target:.1f})")
