"""`inv bench.foreman`: dispatch throughput against pgqueuer and procrastinate
(see ops/foreman/bench.py). Exported as the Task `foreman`; the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.taskkit import JSON_HELP, environment, task


@task(
    name="foreman",
    help={
        "env": "embedded environment whose PostgreSQL hosts the bench databases (default local)",
        "jobs": "no-op jobs the foreman and pgqueuer each drain (default 100000)",
        "procrastinate_jobs": "jobs procrastinate drains (default 10000, at most --jobs): it is "
        "about 20x slower, and its rate does not depend on the queue's size",
        "batch_size": "claim batch of the foreman and pgqueuer (default 500)",
        "json": JSON_HELP,
    },
)
def foreman_bench(c: Context, env: str = "local", jobs: int = 100_000,
                  procrastinate_jobs: int = 10_000, batch_size: int = 500,
                  json: bool = False) -> None:  # fmt: skip
    """Dispatch throughput: the foreman vs pgqueuer and procrastinate (same PostgreSQL)."""
    from ops.benchkit import render
    from ops.foreman.bench import run_foreman_bench
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display(enabled=not json) as progress:
        comparisons = run_foreman_bench(
            settings,
            jobs=int(jobs),
            procrastinate_jobs=int(procrastinate_jobs),
            batch_size=int(batch_size),
            progress=progress,
        )
    render("dispatch throughput (same PostgreSQL, separate databases)", comparisons, as_json=json)
