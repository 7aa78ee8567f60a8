"""`inv bench.batch`: the foreman's Batch dispatch (array jobs) against one SubmitJob per job
(see ops/batch/bench.py). Exported as the Task `batch`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import JSON_HELP, environment, task


@task(
    name="batch",
    help={
        "env": "embedded environment whose PostgreSQL hosts the bench database (default local)",
        "jobs": "pending jobs each side submits (default 10000)",
        "json": JSON_HELP,
    },
    bounds={"jobs": (2, 1_000_000)},
)
def batch_bench(c: Context, env: str = "local", jobs: int = 10_000, json: bool = False) -> None:
    """Batch dispatch: the foreman's array jobs vs one SubmitJob per job (calls, time, quota)."""
    from ops.batch.bench import run_batch_bench
    from ops.benchkit import render
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display(enabled=not json) as progress:
        result = run_batch_bench(settings, jobs=int(jobs), progress=progress)
    render(
        f"Batch dispatch of {int(jobs):,} jobs on the AWS emulator (containers off)",
        result.comparisons(),
        as_json=json,
        details=result.as_dict(),
    )
