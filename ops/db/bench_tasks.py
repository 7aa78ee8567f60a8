"""`inv bench.backup`: time the old `pg_dump | gzip` practice against Refinery's backups.

Exports the task `backup`; the `bench` collection adds it (`bench_ns.add_task(backup)`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ops.db.backup_tasks import human_size
from ops.db.bench import ratios_of, run_backup_benchmark
from ops.taskkit import console, err_console, print_table, styled, task


@task(
    help={
        "scale": "pgbench scale (60 ≈ 0.9 GB; 1 for a smoke run)",
        "rounds": "times to run every step; medians are reported (default 3: a shared "
        "machine's load moves single runs)",
        "work_dir": "folder for the benchmark's own cluster and backups (default: a temp dir)",
    }
)
def backup(c, scale=60, rounds=3, work_dir=""):
    """Time pg_dump|gzip and gunzip|psql against db.backup/db.restore, logical and physical."""
    with tempfile.TemporaryDirectory(dir=work_dir or None, prefix="bench-backup-") as scratch:
        result = run_backup_benchmark(
            Path(scratch), scale=int(scale), rounds=int(rounds),
            progress=lambda message: err_console.print(styled(f"… {message}", "dim")),
        )  # fmt: skip
    numbers = range(1, len(result.rounds) + 1)
    print_table(
        f"backup benchmark (pgbench scale {result.scale}, {human_size(result.database_bytes)})",
        ["step", "median s", *(f"round {n}" for n in numbers)],
        [
            (step, f"{value:.2f}", *(f"{r[step]:.2f}" for r in result.rounds))
            for step, value in result.seconds.items()
        ],
    )
    for number, seconds in zip(numbers, result.rounds, strict=True):
        shown = ", ".join(f"{ratio:.2f}" for ratio, _ in ratios_of(seconds).values())
        console.print(styled(f"round {number} ratios (as below): {shown}", "dim"))
    for label, (ratio, target) in result.ratios().items():
        verdict = "meets" if ratio <= target else "MISSES"
        console.print(f"{label} (medians): {ratio:.2f} ({verdict} the target ≤ {target:.1f})")
