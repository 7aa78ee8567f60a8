"""`inv bench.lake`: lake.check against rclone on a generated lake (see ops/lake/bench.py).
Exported as the Task `lake`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import JSON_HELP, task


@task(
    name="lake",
    help={
        "files": "how many small files to generate (default 100000)",
        "regenerate": "generate the lake again even if one of that size is there",
        "repeat": "runs per command; the median is reported (default 3)",
        "json": JSON_HELP,
    },
)
def lake_bench(
    c: Context, files: int = 100_000, regenerate: bool = False, repeat: int = 3, json: bool = False
) -> None:
    """Time lake.check against rclone (size-only, checksum cold and warm) on one lake."""
    from ops.benchkit import render
    from ops.lake.bench import run_bench
    from ops.progress import progress_display

    with progress_display(enabled=not json) as progress:
        comparisons = run_bench(
            int(files), regenerate=regenerate, repeat=int(repeat), progress=progress
        )
    render(f"lake.check vs rclone, {int(files)} files", comparisons, as_json=json)
