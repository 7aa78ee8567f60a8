"""`inv bench.console`: the console's search against plain ILIKE (see ops/console/bench.py)."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import console, environment, task


@task(
    name="console",
    help={
        "env": "embedded environment whose PostgreSQL hosts the bench database (default local)",
        "samples": "synthetic samples in the index (default 1000000)",
        "rounds": "times each question (ten words, six judged) is asked of each system (default 5)",
        "regenerate": "generate the samples again even if that many are there",
        "json": "print machine-readable JSON instead of a table",
    },
)
def console_bench(
    c: Context,
    env: str = "local",
    samples: int = 1_000_000,
    rounds: int = 5,
    regenerate: bool = False,
    json: bool = False,
) -> None:
    """Search latency p50/p95: the console's BM25 search vs plain ILIKE, same data."""
    from ops.benchkit import render
    from ops.console.bench import run_console_bench

    settings = environment(env)
    with console.status("benchmarking…") as status:
        result = run_console_bench(
            settings,
            samples=int(samples),
            rounds=int(rounds),
            regenerate=regenerate,
            progress=lambda message: status.update(f"{message}…"),
        )
    render(
        f"console search vs ILIKE ({result.queries} queries each)",
        result.comparisons(),
        as_json=json,
        details=result.as_dict(),
    )
