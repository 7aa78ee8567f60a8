"""`inv bench.salmon`: salmon through the platform against salmon run by hand on the same
reads (see ops/analyses/salmon_bench.py). Exported as the Task `salmon`; the `bench`
collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.benchkit import render
from ops.progress import progress_display
from ops.taskkit import JSON_HELP, console, environment, task


@task(
    name="salmon",
    bounds={"samples": (1, 100), "reads": (1_000, 50_000_000)},
    help={
        "env": "the environment whose running foreman and workers quantify (default local)",
        "samples": "simulated single-end samples, quantified one after another (default 3)",
        "reads": "reads per sample (default 100000)",
        "json": JSON_HELP,
    },
)
def salmon_bench(
    c: Context, env: str = "local", samples: int = 3, reads: int = 100_000, json: bool = False
) -> None:
    """salmon quant through the platform (claimed → committed) vs salmon run by hand."""
    from ops.analyses.salmon_bench import run_salmon_bench

    with progress_display(enabled=not json) as progress:
        result = run_salmon_bench(
            environment(env), samples=int(samples), reads=int(reads), progress=progress
        )
    title = (f"salmon {result.salmon_version} through the platform vs by hand "
             f"({result.threads} threads)")  # fmt: skip
    render(title, result.comparisons, as_json=json, details=result.details)
    if not json:
        details = result.details
        rates = details["reads_per_second_per_thread"]
        console.print(
            f"reads/s/thread: refinery {rates['refinery']:,.0f}, salmon {rates['salmon']:,.0f}"
        )
        console.print(
            f"per sample, median: ratio {details['median_sample_ratio']:.3f}, the platform's "
            f"time less salmon's {details['median_overhead_ms']:.0f} ms"
        )
