"""`inv bench.datasets`: one normalised matrix from many experiments, against a pandas + R peer
(see ops/datasets/bench.py). Exported as the Task `datasets`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.benchkit import render
from ops.progress import progress_display
from ops.taskkit import JSON_HELP, task


@task(
    name="datasets",
    help={
        "samples": "samples in all (default 1000; the issue's size is 1000)",
        "genes": "genes per experiment before each drops 1% (default 20000)",
        "experiments": "experiments the samples are spread over (default 40)",
        "regenerate": "write the input files again even if files of that size are there",
        "json": JSON_HELP,
    },
)
def datasets_bench(
    c: Context,
    samples: int = 1000,
    genes: int = 20_000,
    experiments: int = 40,
    regenerate: bool = False,
    json: bool = False,
) -> None:
    """Join + quantile-normalise + write vs pandas joins and R's preprocessCore: time, memory."""
    from ops.datasets.bench import run_bench  # numpy and polars: only when the benchmark runs

    with progress_display(enabled=not json) as progress:
        result = run_bench(
            int(samples), int(genes), int(experiments), regenerate=regenerate, progress=progress
        )
    render(
        f"dataset matrix vs pandas + preprocessCore (equal within 1e-9; largest difference "
        f"{result.max_difference:.2g})",
        result.comparisons(),
        as_json=json,
        details=result.as_dict(),
    )
