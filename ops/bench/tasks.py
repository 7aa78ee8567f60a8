"""`inv bench.*`: Refinery against a peer, measured in the same run on the same machine.

Each area keeps its benchmark and its task (`ops/<area>/bench.py`, `ops/<area>/tasks_bench.py`),
and `ops/tasks.py`, which composes the areas, adds them to this collection: no area imports
another's benchmark. This module holds the one benchmark of the command surface itself,
`bench.quick` (ops/bench/quick.py). All of them report through `ops/benchkit.py`: the same
table, the same ratio (peer time ÷ Refinery time), and `--json`.
"""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, task


@task(
    name="quick",
    bounds={"runs": (1, 100)},
    help={
        "env": ENV_HELP + " (must be up: jobs.status reads its database)",
        "runs": "runs of each command, in turn with inv --version (the median is kept)",
        "json": JSON_HELP,
    },
)
def quick_bench(c: Context, env: str = "local", runs: int = 9, json: bool = False) -> None:
    """Time inv --list and inv jobs.status as whole processes against inv --version."""
    from ops.bench.quick import run_quick_bench
    from ops.benchkit import render

    comparisons = run_quick_bench(env, runs=int(runs))
    render("quick commands vs inv --version (medians)", comparisons, as_json=json)


ns = Collection("bench")
ns.add_task(quick_bench)
