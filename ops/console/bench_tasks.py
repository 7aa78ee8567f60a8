"""`inv bench.console`: the console's search against plain ILIKE (see ops/console/bench.py)."""

from __future__ import annotations

from ops.console.bench import run_console_bench
from ops.taskkit import console, environment, print_json, print_table, task


@task(
    help={
        "env": "embedded environment whose PostgreSQL hosts the bench database (default local)",
        "samples": "synthetic samples in the index (default 1000000)",
        "rounds": "times each of the ten words is searched by each system (default 5)",
        "regenerate": "generate the samples again even if that many are there",
        "json": "print machine-readable JSON instead of a table",
    }
)
def console_bench(c, env="local", samples=1_000_000, rounds=5, regenerate=False, json=False):
    """Search latency p50/p95: the console's full-text search vs plain ILIKE, same data."""
    settings = environment(env)
    with console.status("benchmarking…") as status:
        result = run_console_bench(
            settings,
            samples=int(samples),
            rounds=int(rounds),
            regenerate=regenerate,
            progress=lambda message: status.update(f"{message}…"),
        )
    if json:
        print_json(result.as_dict())
        return
    print_table(
        f"console search vs ILIKE ({result.queries} queries each; ratio = peer time ÷ ours)",
        ("benchmark", "refinery", "peer", "ratio"),
        (
            (row["benchmark"], f"{row['refinery'] * 1000:.1f} ms",
             f"{row['peer_name']} {row['peer'] * 1000:.1f} ms", f"{row['ratio']:.1f}x")
            for row in result.rows()
        ),
        caption=f"setup {result.setup_seconds:.1f} s; matches per word: "
        + ", ".join(f"{word} {n:,}" for word, n in result.matches.items()),
    )  # fmt: skip
