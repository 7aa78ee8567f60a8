"""`inv bench.curve`: the foreman's cost per dispatched job at growing queue lengths
(see ops/foreman/curve.py). Exported as the Task `curve`; the `bench` collection adds it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context

from ops.taskkit import JSON_HELP, environment, print_table, task

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_SLICE = 10_000
DEFAULT_ROUNDS = 3

if TYPE_CHECKING:
    from ops.foreman.curve import CostCurve, Point

POINT_COLUMNS = (
    "pending", "executor", "dispatch µs/job", "reconcile µs/job", "database",
    "jobs table + indexes", "foreman peak RSS",
)  # fmt: skip


@task(
    name="curve",
    help={
        "env": "embedded environment whose PostgreSQL hosts the bench database (default local)",
        "sizes": "queue lengths, increasing, comma-separated (default 10000,100000,1000000)",
        "slice": "pending jobs the foreman dispatches at each length (default 10000, at most "
        "the smallest length)",
        "rounds": "measurements per length and executor; the median is reported (default 3)",
        "json": JSON_HELP,
    },
    bounds={"slice": (1, 1_000_000), "rounds": (1, 20)},
)
def cost_curve(c: Context, env: str = "local", sizes: str = ",".join(map(str, DEFAULT_SIZES)),
               slice: int = DEFAULT_SLICE, rounds: int = DEFAULT_ROUNDS,
               json: bool = False) -> None:  # fmt: skip
    """Cost curve: the foreman dispatching 10,000 jobs from queues of 10k to 1M (time, memory)."""
    from ops.benchkit import render
    from ops.foreman.curve import parse_sizes, run_cost_curve
    from ops.progress import progress_display

    settings = environment(env)
    lengths = parse_sizes(sizes)
    with progress_display(enabled=not json) as progress:
        curve = run_cost_curve(
            settings, sizes=lengths, slice=int(slice), rounds=int(rounds), progress=progress
        )
    render(
        f"Cost curve: {curve.slice:,} jobs dispatched from queues of {lengths[0]:,} to "
        f"{lengths[-1]:,} (null executor; Batch on the AWS emulator, containers off)",
        curve.comparisons(),
        as_json=json,
        details=curve.as_dict(),
    )
    if not json:
        _print_points(curve)


def _print_points(curve: CostCurve) -> None:
    title = f"Per queue length (median of {curve.rounds} rounds)"
    print_table(title, POINT_COLUMNS, [_point_row(p) for p in curve.points])


def _point_row(p: Point) -> tuple[str, ...]:
    return (
        f"{p.pending:,}",
        p.executor,
        f"{p.us_per_job:,.1f}",
        f"{p.reconcile_us_per_job:,.1f}",
        _megabytes(p.database_bytes),
        _megabytes(p.jobs_table_bytes + p.jobs_index_bytes),
        f"{p.peak_rss_mb:,.0f} MB",
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
