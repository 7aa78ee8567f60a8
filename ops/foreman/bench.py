"""Dispatch throughput: the foreman against procrastinate and pgqueuer.

Each system gets its own fresh database on the same PostgreSQL server, the same number of
pending no-op jobs, and is timed from "start draining" to "nothing left pending". The foreman
claims and submits to the null executor (no process is started, so this measures the
foreman's own database work); the peers dequeue and run an empty task, marking it done.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from common import db
from common.db import fetch_one
from common.environments import Environment
from common.errors import ConfigError
from common.settings.jobs import ForemanSettings
from foreman.executors.null import NullExecutor
from foreman.loop import Foreman
from ops.bench_queue import bench_environment, fresh_database, pending_queue
from ops.benchkit import Comparison
from ops.progress import Progress, quiet


@dataclass(frozen=True)
class BenchResult:
    """One system's run."""

    system: str
    jobs: int
    seconds: float
    detail: str


def _fresh_database(env: Environment, name: str) -> Environment:
    target = bench_environment(env, name)
    fresh_database(target)
    return target


def _conninfo(env: Environment) -> str:
    params = db.connection_params(env)
    return " ".join(f"{key}={value}" for key, value in params.items())


def bench_foreman(env: Environment, jobs: int, batch_size: int) -> BenchResult:
    target = bench_environment(env, "bench_refinery")
    with pending_queue(target, jobs) as conn:
        executor = NullExecutor()
        settings = ForemanSettings(batch_size=batch_size, reconcile_seconds=3600)
        foreman = Foreman(target, executor=executor, settings=settings)
        started = time.perf_counter()
        report = foreman.run(stop_when_idle=True)
        seconds = time.perf_counter() - started
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM jobs WHERE state = 'dispatched' AND attempt = 1")
            dispatched = fetch_one(cur)[0]
        if dispatched != jobs or report.dispatched != jobs:
            raise ConfigError(f"foreman dispatched {dispatched} of {jobs} jobs; bench is invalid")
    return BenchResult("refinery foreman", jobs, seconds, f"batch {batch_size}, null executor")


def bench_pgqueuer(env: Environment, jobs: int, batch_size: int) -> BenchResult:
    import asyncpg
    from pgqueuer import AsyncpgDriver, PgQueuer, Queries
    from pgqueuer.domain.types import QueueExecutionMode

    target = _fresh_database(env, "bench_pgqueuer")
    params = db.connection_params(target)

    async def run() -> float:
        # asyncpg is pgqueuer's own recommended (and its fastest) driver.
        conn = await asyncpg.connect(
            host=params["host"], port=params["port"], user=params["user"],
            password=params["password"], database=params["dbname"],
        )  # fmt: skip
        try:
            queries = Queries(AsyncpgDriver(conn))
            await queries.install()
            for start in range(0, jobs, 10_000):
                count = min(10_000, jobs - start)
                await queries.enqueue(["no_op"] * count, [None] * count, [0] * count)
            pgq = PgQueuer(AsyncpgDriver(conn))

            @pgq.entrypoint("no_op")
            async def no_op(job: Any) -> None:
                return None

            started = time.perf_counter()
            await pgq.run(batch_size=batch_size, mode=QueueExecutionMode.drain)
            seconds = time.perf_counter() - started
            remaining = await conn.fetchval("SELECT count(*) FROM pgqueuer")
            if remaining:
                raise ConfigError(f"pgqueuer left {remaining} jobs; bench is invalid")
            return seconds
        finally:
            await conn.close()

    try:
        seconds = asyncio.run(run())
    finally:
        db.drop_database(env, "bench_pgqueuer")
    return BenchResult("pgqueuer", jobs, seconds, f"batch {batch_size}, drain mode")


def bench_procrastinate(env: Environment, jobs: int, concurrency: int) -> BenchResult:
    import procrastinate

    target = _fresh_database(env, "bench_procrastinate")
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(target)))

    @app.task(name="no_op", queue="default")
    async def no_op() -> None:
        return None

    async def run() -> float:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            for start in range(0, jobs, 10_000):
                count = min(10_000, jobs - start)
                await no_op.batch_defer_async(*([{}] * count))
            started = time.perf_counter()
            await app.run_worker_async(
                queues=["default"],
                wait=False,
                concurrency=concurrency,
                install_signal_handlers=False,
            )
            seconds = time.perf_counter() - started
            rows = await app.connector.execute_query_one_async(
                "SELECT count(*) AS n FROM procrastinate_jobs WHERE status <> 'succeeded'"
            )
            if rows["n"]:
                raise ConfigError(f"procrastinate left {rows['n']} jobs; bench is invalid")
            return seconds

    try:
        seconds = asyncio.run(run())
    finally:
        db.drop_database(env, "bench_procrastinate")
    return BenchResult("procrastinate", jobs, seconds, f"concurrency {concurrency}, wait=False")


def run_foreman_bench(
    env: Environment,
    *,
    jobs: int,
    procrastinate_jobs: int = 10_000,
    batch_size: int = 500,
    progress: Progress = quiet,
) -> list[Comparison]:
    """Run all three on `env`'s server (an embedded one or a scratch server you own); the
    foreman against each peer, compared per job (procrastinate drains fewer of them)."""
    if jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    if env.database.kind != "embedded":
        raise ConfigError(
            f"the bench creates and drops databases; run it on an embedded environment, "
            f"not {env.name!r}"
        )
    procrastinate_jobs = max(1, min(procrastinate_jobs, jobs))
    results = []
    progress(f"refinery foreman: {jobs} jobs")
    results.append(bench_foreman(env, jobs, batch_size))
    progress(f"pgqueuer: {jobs} jobs")
    results.append(bench_pgqueuer(env, jobs, batch_size))
    # procrastinate runs one job per round trip; its rate does not depend on the queue's size,
    # so a smaller drain measures it in minutes instead of half an hour.
    progress(f"procrastinate: {procrastinate_jobs} jobs")
    results.append(bench_procrastinate(env, procrastinate_jobs, concurrency=10))
    ours, *peers = results
    return [
        Comparison(
            f"dispatch no-op jobs ({ours.detail})",
            ours.seconds,
            f"{peer.system} ({peer.detail})",
            peer.seconds,
            unit="jobs",
            refinery_work=ours.jobs,
            peer_work=peer.jobs,
        )
        for peer in peers
    ]
