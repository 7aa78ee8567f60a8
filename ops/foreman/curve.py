"""`inv bench.curve`: what dispatching one job costs the foreman as its queue grows.

For each queue length (10,000, 100,000 and 1,000,000 pending jobs by default) a fresh
database is filled and ANALYZEd (ops.bench_queue), then the foreman dispatches the
same slice of it — the first 10,000 jobs — through `dispatch_pending_jobs`, the function its
loop calls every round, in its normal claim batches, and then reconciles them once
(`reconcile_active_jobs`, the loop's status pass). It does so twice per length: with the null
executor (the foreman's own database work) and with the Batch executor against the AWS
emulator with containers off (one array per 10,000 jobs, as on AWS). The slice is the queue's
declared capacity, so one round takes exactly that many, whatever waits behind it.

Each measurement runs in a process of its own (spawned, not forked), so the peak resident
memory it reports is that of the process that dispatched, and nothing else. Each is repeated
`rounds` times, the lengths taken in turn within a round (so a warming cache or a busy
neighbour does not fall on one length only), and the median reported; before each Batch
measurement the emulator forgets the jobs of the previous one. Reported per
length: wall time and microseconds per job, the database's size and the jobs table's (rows
and indexes), and the foreman's peak memory. The comparison rows hold each length against
the smallest: the ratio is the time per job at the smallest queue ÷ at this one, so a flat
curve reads 1.0× and a cost that grows with the queue reads below 1.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any, Literal

from common import db
from common.environments import Environment, ExecutorSettings
from common.errors import ConfigError
from common.inputs import increasing_counts
from ops.batch.bench import (
    batch_bench_environment,
    batch_emulator,
    create_batch_resources,
    empty_emulator,
)
from ops.bench_queue import bench_environment, pending_queue
from ops.benchkit import Comparison
from ops.foreman.curve_child import Dispatched, dispatch_slice
from ops.progress import Progress, quiet
from ops.sandbox.emulator import MotoServer

DATABASE = "bench_curve"
EXECUTORS = ("null", "batch")
_SIZES_SQL = """
SELECT pg_database_size(current_database()), pg_table_size('jobs'), pg_indexes_size('jobs')
"""


@dataclass(frozen=True)
class Point:
    """One queue length and executor: the slice's dispatches and the database they came from."""

    pending: int
    executor: str
    database_bytes: int
    jobs_table_bytes: int
    jobs_index_bytes: int
    runs: tuple[Dispatched, ...]

    @property
    def dispatched(self) -> int:
        return self.runs[0].dispatched

    @property
    def reconciled(self) -> int:
        return self.runs[0].reconciled

    @property
    def seconds(self) -> float:
        return median(run.seconds for run in self.runs)

    @property
    def reconcile_seconds(self) -> float:
        return median(run.reconcile_seconds for run in self.runs)

    @property
    def us_per_job(self) -> float:
        return self.seconds / self.dispatched * 1e6

    @property
    def reconcile_us_per_job(self) -> float:
        return self.reconcile_seconds / max(self.reconciled, 1) * 1e6

    @property
    def peak_rss_mb(self) -> float:
        return max(run.peak_rss_mb for run in self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "executor": self.executor,
            "dispatched": self.dispatched,
            "seconds": self.seconds,
            "us_per_job": self.us_per_job,
            "reconciled": self.reconciled,
            "reconcile_seconds": self.reconcile_seconds,
            "reconcile_us_per_job": self.reconcile_us_per_job,
            "lost": max(run.lost for run in self.runs),
            "rss_before_mb": min(run.rss_before_mb for run in self.runs),
            "peak_rss_mb": self.peak_rss_mb,
            "database_bytes": self.database_bytes,
            "jobs_table_bytes": self.jobs_table_bytes,
            "jobs_index_bytes": self.jobs_index_bytes,
            "rounds": [asdict(run) for run in self.runs],
        }


@dataclass(frozen=True)
class CostCurve:
    """Every point of the curve, smallest queue first within each executor."""

    slice: int
    points: list[Point]

    @property
    def rounds(self) -> int:
        return len(self.points[0].runs) if self.points else 0

    def comparisons(self) -> list[Comparison]:
        """Each longer queue against the smallest, per executor: dispatch, then reconcile."""
        rows = []
        for executor in EXECUTORS:
            points = [p for p in self.points if p.executor == executor]
            if not points:
                continue
            base, *longer = points
            for point in longer:
                rows.append(_compared(executor, "dispatch", self.slice, point, base))
                rows.append(_compared(executor, "reconcile", self.slice, point, base))
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "slice": self.slice,
            "rounds": self.rounds,
            "points": [point.as_dict() for point in self.points],
        }


def _compared(
    executor: str, phase: Literal["dispatch", "reconcile"], slice: int, point: Point, base: Point
) -> Comparison:
    if phase == "reconcile":
        ours, theirs = point.reconcile_seconds, base.reconcile_seconds
        work = (point.reconciled, base.reconciled)
    else:
        ours, theirs = point.seconds, base.seconds
        work = (point.dispatched, base.dispatched)
    return Comparison(
        f"{executor}: {phase} {slice:,} of {point.pending:,} pending",
        ours,
        f"the same, {base.pending:,} pending",
        theirs,
        unit="jobs",
        refinery_work=max(work[0], 1),
        peer_work=max(work[1], 1),
    )


def parse_sizes(text: str) -> tuple[int, ...]:
    """`10000,100000,1000000` as increasing queue lengths (a ValidationError when not)."""
    return increasing_counts(text, "--sizes")


def run_cost_curve(
    env: Environment,
    *,
    sizes: tuple[int, ...],
    slice: int,
    rounds: int,
    executors: tuple[str, ...] = EXECUTORS,
    progress: Progress = quiet,
) -> CostCurve:
    """Measure the slice's dispatch at every queue length, with each executor."""
    if env.database.kind != "embedded":
        raise ConfigError("inv bench.curve runs on an embedded environment (such as local)")
    if not 1 <= slice <= sizes[0]:
        raise ConfigError(f"--slice must be between 1 and the smallest size ({sizes[0]:,})")
    runs: dict[tuple[str, int], list[Dispatched]] = {}
    queues: dict[tuple[str, int], tuple[int, int, int]] = {}
    emulator: AbstractContextManager[MotoServer | None] = (
        batch_emulator(progress) if "batch" in executors else nullcontext()
    )
    with emulator as server:
        for round_number in range(1, rounds + 1):
            for executor in executors:
                for size in sizes:
                    progress(f"round {round_number} of {rounds}, {executor}: {size:,} pending")
                    target = _target(env, executor, slice, server)
                    queues[executor, size], run = _measure(target, size, slice)
                    runs.setdefault((executor, size), []).append(run)
    points = [
        Point(size, executor, *queues[executor, size], tuple(runs[executor, size]))
        for executor in executors
        for size in sizes
    ]
    return CostCurve(slice, points)


def _target(env: Environment, executor: str, slice: int, server: MotoServer | None) -> Environment:
    """The bench environment of `executor`: its one queue takes `slice` jobs at once."""
    if executor == "null":
        return bench_environment(
            env, DATABASE, executor=ExecutorSettings(kind="null", queues={"default": slice})
        )
    if server is None:
        raise ConfigError("the Batch measurement needs the AWS emulator")
    empty_emulator(server)
    target = batch_bench_environment(env, server.endpoint_url, capacity=slice, database=DATABASE)
    create_batch_resources(target)
    return target


def _measure(target: Environment, size: int, slice: int) -> tuple[tuple[int, int, int], Dispatched]:
    """Fill the queue, then dispatch the slice in a fresh process: the database's sizes
    (whole database, jobs table, its indexes) and what that process measured."""
    with pending_queue(target, size) as conn:
        with conn.cursor() as cur:
            cur.execute(_SIZES_SQL)
            database_bytes, table_bytes, index_bytes = db.fetch_one(cur)
        conn.commit()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            run = pool.submit(dispatch_slice, target).result()
    if run.dispatched != slice:
        raise ConfigError(
            f"the foreman dispatched {run.dispatched:,} of {slice:,} jobs at {size:,} pending; "
            "bench invalid"
        )
    return (database_bytes, table_bytes, index_bytes), run
