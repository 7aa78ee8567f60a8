"""`inv bench.datasets`: one normalised matrix from many experiments, against a pandas + R peer
(see ops/datasets/bench.py). Exported as the Task `datasets`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from common.inputs import increasing_counts
from ops.benchkit import render
from ops.progress import progress_display
from ops.taskkit import JSON_HELP, print_table, task

TITLE = "dataset matrix vs pandas + preprocessCore (equal within 1e-9; largest difference {:.2g})"


@task(
    name="datasets",
    help={
        "samples": "samples in all (default 1000; the issue's size is 1000); several, "
        "increasing and separated by commas (100,1000,5000), for a memory curve",
        "genes": "genes per experiment before each drops 1% (default 20000)",
        "experiments": "experiments the samples are spread over (default 40)",
        "regenerate": "write the input files again even if files of that size are there",
        "json": JSON_HELP,
    },
)
def datasets_bench(
    c: Context,
    samples: str = "1000",
    genes: int = 20_000,
    experiments: int = 40,
    regenerate: bool = False,
    json: bool = False,
) -> None:
    """Join + quantile-normalise + write vs pandas joins and R's preprocessCore: time, memory."""
    counts = increasing_counts(samples, "--samples")
    if len(counts) > 1:
        _curve(counts, int(genes), int(experiments), regenerate, json)
        return
    from ops.datasets.bench import run_bench  # numpy and polars: only when the benchmark runs

    with progress_display(enabled=not json) as progress:
        result = run_bench(
            counts[0], int(genes), int(experiments), regenerate=regenerate, progress=progress
        )
    render(
        TITLE.format(result.max_difference),
        result.comparisons(),
        as_json=json,
        details=result.as_dict(),
    )


def _curve(
    counts: tuple[int, ...], genes: int, experiments: int, regenerate: bool, json: bool
) -> None:
    from ops.datasets.bench import CURVE_COLUMNS, run_curve  # numpy and polars, as above

    with progress_display(enabled=not json) as progress:
        curve = run_curve(counts, genes, experiments, regenerate=regenerate, progress=progress)
    largest = max(run.max_difference for run in curve.runs)
    render(TITLE.format(largest), curve.comparisons(), as_json=json, details=curve.as_dict())
    if not json:
        print_table(
            f"peak memory by samples ({genes:,} genes, {experiments} experiments)",
            CURVE_COLUMNS,
            curve.rows(),
            caption="each side's largest process (VmHWM); ratios above 1 favour Refinery",
        )
