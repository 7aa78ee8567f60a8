"""`inv bench.workers`: the worker content's speed against peers in the same run
(see ops/jobs/bench.py). Exported as the Task `workers`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import JSON_HELP, task


@task(
    name="workers",
    help={
        "reads": "synthetic reads in the FASTQ file measured",
        "repeats": "runs per contender (the best is kept)",
        "json": JSON_HELP,
    },
)
def workers_bench(c: Context, reads: int = 100_000, repeats: int = 3, json: bool = False) -> None:
    """Benchmark FASTQ QC and downloads against zlib, wc -l and curl."""
    from ops.benchkit import render
    from ops.jobs.bench import run_workers_bench

    comparisons = run_workers_bench(reads=int(reads), repeats=int(repeats))
    render("worker benchmarks (best of repeats)", comparisons, as_json=json)
