"""`inv bench.*`: speed against a peer, measured in the same run on the same machine."""

from __future__ import annotations

from invoke import Collection

from ops.console.bench_tasks import console_bench
from ops.db.bench_tasks import backup as backup_bench
from ops.foreman.bench import run_foreman_bench
from ops.jobs.bench_tasks import workers_bench
from ops.lake.bench_tasks import bench_lake
from ops.taskkit import console, environment, print_table, task


@task(
    help={
        "env": "embedded environment whose PostgreSQL hosts the bench databases (default local)",
        "jobs": "no-op jobs the foreman and pgqueuer each drain (default 100000)",
        "procrastinate_jobs": "jobs procrastinate drains (default 10000, at most --jobs): it is "
        "about 20x slower, and its rate does not depend on the queue's size",
        "batch_size": "claim batch of the foreman and pgqueuer (default 500)",
    }
)
def foreman(c, env="local", jobs=100_000, procrastinate_jobs=10_000, batch_size=500):
    """Dispatch throughput: the foreman vs pgqueuer and procrastinate (jobs/s and ratios)."""
    settings = environment(env)
    with console.status("benchmarking…") as status:
        results = run_foreman_bench(
            settings,
            jobs=int(jobs),
            procrastinate_jobs=int(procrastinate_jobs),
            batch_size=int(batch_size),
            progress=lambda message: status.update(f"benchmarking {message}…"),
        )
    ours = results[0].jobs_per_second
    print_table(
        "dispatch throughput (same PostgreSQL, separate databases)",
        ["system", "jobs", "seconds", "jobs/s", "foreman ÷ system", "setup"],
        (
            (r.system, r.jobs, f"{r.seconds:.2f}", f"{r.jobs_per_second:,.0f}",
             f"{ours / r.jobs_per_second:.2f}×", r.detail)
            for r in results
        ),
    )  # fmt: skip


ns = Collection("bench")
ns.add_task(foreman)
ns.add_task(workers_bench)
ns.add_task(backup_bench, name="backup")
ns.add_task(bench_lake, name="lake")
ns.add_task(console_bench, name="console")
