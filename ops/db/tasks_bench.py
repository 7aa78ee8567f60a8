"""`inv bench.backup`: the old `pg_dump | gzip` practice against Refinery's backups
(see ops/db/bench.py). Exported as the Task `backup`; the `bench` collection adds it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from invoke import Context

from ops.taskkit import JSON_HELP, err_console, styled, task


@task(
    name="backup",
    help={
        "scale": "pgbench scale (60 ≈ 0.9 GB; 1 for a smoke run)",
        "rounds": "times to run every step; medians are reported (default 3: a shared "
        "machine's load moves single runs)",
        "work_dir": "folder for the benchmark's own cluster and backups (default: a temp dir)",
        "json": JSON_HELP,
    },
)
def backup_bench(
    c: Context, scale: int = 60, rounds: int = 3, work_dir: str = "", json: bool = False
) -> None:
    """Time pg_dump|gzip and gunzip|psql against db.backup/db.restore, logical and physical."""
    from ops.benchkit import render
    from ops.db.bench import comparisons_of, run_backup_benchmark
    from ops.db.tasks_backup import human_size
    from ops.progress import progress_display

    with (
        progress_display(enabled=not json) as progress,
        tempfile.TemporaryDirectory(dir=work_dir or None, prefix="bench-backup-") as scratch,
    ):
        result = run_backup_benchmark(
            Path(scratch), scale=int(scale), rounds=int(rounds), progress=progress
        )
    title = f"backup benchmark (pgbench scale {result.scale}, {human_size(result.database_bytes)})"
    render(title, result.comparisons(), as_json=json,
           details={"median_seconds": result.seconds, "rounds": list(result.rounds)})  # fmt: skip
    if not json:
        for number, seconds in enumerate(result.rounds, 1):
            shown = ", ".join(f"{c.ratio:.2f}×" for c in comparisons_of(seconds))
            err_console.print(styled(f"round {number} ratios (as above): {shown}", "dim"))
