"""`inv bench.affy`: RMA through the platform against affy::rma run by hand on the same CEL
files (see ops/arrays/bench.py). Exported as the Task `affy`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.benchkit import render
from ops.progress import progress_display
from ops.taskkit import JSON_HELP, environment, task


@task(
    name="affy",
    bounds={"arrays": (2, 500), "probe_sets": (10, 60_000), "probes": (2, 25)},
    help={
        "env": "the environment whose running foreman and workers normalise (default local)",
        "arrays": "synthetic arrays in the series (default 12)",
        "probe_sets": "probe sets on the synthetic chip (default 2000)",
        "probes": "PM/MM probe pairs per probe set (default 11)",
        "json": JSON_HELP,
    },
)
def affy_bench(
    c: Context, env: str = "local", arrays: int = 12, probe_sets: int = 2000, probes: int = 11,
    json: bool = False,
) -> None:  # fmt: skip
    """RMA of a series of arrays through the platform (claimed → committed) vs affy::rma by hand."""
    from ops.arrays.bench import run_affy_bench

    with progress_display(enabled=not json) as progress:
        result = run_affy_bench(environment(env), arrays=int(arrays), probe_sets=int(probe_sets),
                                probes=int(probes), progress=progress)  # fmt: skip
    render("affy::rma through the platform vs by hand", result.comparisons, as_json=json,
           details=result.details)  # fmt: skip
