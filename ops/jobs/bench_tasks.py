"""`inv bench.workers`: the worker content's speed as ratios against peers in the same run.

Exported as the Task `workers`, to be added to the `bench` collection.
"""

from __future__ import annotations

from ops.taskkit import JSON_HELP, print_json, print_table, task


@task(
    name="workers",
    help={
        "reads": "synthetic reads in the FASTQ file measured",
        "repeats": "runs per contender (the best is kept)",
        "json": JSON_HELP,
    },
)
def workers_bench(c, reads=100_000, repeats=3, json=False):
    """Benchmark FASTQ QC and downloads against zlib, wc -l and curl (ratios)."""
    from ops.jobs.bench import run_workers_bench

    results = run_workers_bench(reads=int(reads), repeats=int(repeats))
    if json:
        print_json(
            [
                {
                    "pair": r.pair,
                    "contender": r.contender,
                    "seconds": round(r.seconds, 4),
                    "mb_per_second": round(r.megabytes_per_second, 1),
                    "ratio_to_peer": None if r.ratio is None else round(r.ratio, 2),
                }
                for r in results
            ]
        )
        return
    print_table(
        "Worker benchmarks (best of repeats)",
        ("pair", "contender", "seconds", "MB/s", "ours / peer"),
        [
            (
                r.pair,
                r.contender,
                f"{r.seconds:.3f}",
                f"{r.megabytes_per_second:,.0f}",
                "peer" if r.ratio is None else f"{r.ratio:.2f}×",
            )
            for r in results
        ],
        caption="ratio 1.0 = as fast as the peer; higher = slower",
    )
