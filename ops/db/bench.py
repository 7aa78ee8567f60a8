"""The backup benchmark: the old practice against Refinery's backups, same data, same run.

It runs in its own state folder (its own embedded cluster, its own backups folder) so that
the physical restore it times swaps nothing anyone else uses. The data is pgbench's, about
15 MB per unit of scale (scale 60 ≈ 0.9 GB). With several rounds every step runs once per
round, peers and ours interleaved, and the median of each step is reported: on a shared
machine one round's ratio moves with whatever else runs at that moment. Every step starts
from a checkpoint and a sync, so none pays for the writes of the step before it.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from common import db
from common.db import fetch_one
from common.environments import STATE_DIR_VARIABLE, DatabaseSettings, Environment, load_environment
from common.pgpass import libpq_child_environment
from common.shell import run_command
from ops.benchkit import Comparison
from ops.db.backups.logical import take_logical_backup
from ops.db.backups.physical import take_physical_backup
from ops.db.backups.restore import execute_restore
from ops.db.backups.settings import BackupSettings, backup_settings
from ops.db.backups.tools import tool
from ops.progress import Progress, quiet

_T = TypeVar("_T")

BENCH_DATABASE = "refinery_bench_backup"


@dataclass(frozen=True)
class BenchResult:
    scale: int
    database_bytes: int
    seconds: dict[str, float]  # the median over the rounds
    rounds: tuple[dict[str, float], ...] = ()

    def comparisons(self) -> list[Comparison]:
        """Refinery's steps against the old practice, on the medians."""
        return comparisons_of(self.seconds)

    def ratios(self) -> dict[str, tuple[float, float]]:
        """{benchmark: (ratio, target)} of the medians: each must reach at least its target."""
        return {c.benchmark: (c.ratio, c.target or 0.0) for c in self.comparisons()}


def comparisons_of(s: dict[str, float]) -> list[Comparison]:
    """The targets: a logical backup and a physical restore in at most half the old
    practice's time, a logical restore with its checks in no more than its time."""
    return [
        Comparison("logical backup", s["db.backup"], "pg_dump | gzip", s["pg_dump | gzip"],
                   target=2.0),
        Comparison("logical restore (with checks)", s["db.restore (logical)"], "gunzip | psql",
                   s["gunzip | psql"], target=1.0),
        Comparison("physical restore", s["db.restore (physical)"], "gunzip | psql",
                   s["gunzip | psql"], target=2.0),
    ]  # fmt: skip


@contextmanager
def private_state(work_dir: Path) -> Iterator[None]:
    previous = os.environ.get(STATE_DIR_VARIABLE)
    os.environ[STATE_DIR_VARIABLE] = str(work_dir / "state")
    try:
        yield
    finally:
        try:
            db.embedded_cluster().stop()
        finally:
            if previous is None:
                os.environ.pop(STATE_DIR_VARIABLE, None)
            else:
                os.environ[STATE_DIR_VARIABLE] = previous


def run_backup_benchmark(
    work_dir: Path,
    *,
    scale: int = 60,
    rounds: int = 1,
    base_env: str = "local",
    progress: Progress = quiet,
) -> BenchResult:
    work_dir.mkdir(parents=True, exist_ok=True)
    with private_state(work_dir):
        base = load_environment(base_env)
        env = dataclasses.replace(
            base,
            name="bench-backup",
            database=DatabaseSettings(kind="embedded", name=BENCH_DATABASE),
        )
        db.drop_database(env, BENCH_DATABASE)
        db.create_database(env, BENCH_DATABASE)
        progress(f"generating pgbench data at scale {scale}")
        with libpq_child_environment(env) as libpq:
            run_command(
                [tool("pgbench"), "-i", "-s", scale, "-I", "dtGvp", "-q"],
                env=libpq, timeout=3600,
            )  # fmt: skip
        size = _database_size(env)
        settings = backup_settings(env)
        dump_file = work_dir / "old.sql.gz"
        history = tuple(
            _one_round(env, settings, dump_file, f"round {number}/{rounds}: ", progress)
            for number in range(1, max(1, rounds) + 1)
        )
        db.drop_database(env, BENCH_DATABASE)
    shutil.rmtree(work_dir / "state", ignore_errors=True)
    dump_file.unlink(missing_ok=True)
    medians = {step: statistics.median(r[step] for r in history) for step in history[0]}
    return BenchResult(scale, size, medians, history)


def _one_round(
    env: Environment, settings: BackupSettings, dump_file: Path, prefix: str, progress: Progress
) -> dict[str, float]:
    """Every step once: the old practice, then the logical and physical backup and restore."""
    seconds: dict[str, float] = {}

    def timed(label: str, action: Callable[[], _T]) -> _T:
        progress(prefix + label)
        _quiesce(env)
        started = time.monotonic()
        value = action()
        seconds[label] = round(time.monotonic() - started, 3)
        return value

    with libpq_child_environment(env) as pg:
        timed(
            "pg_dump | gzip",
            lambda: _shell(
                f"{shlex.quote(str(tool('pg_dump')))} | gzip > {shlex.quote(str(dump_file))}", pg
            ),
        )
    old_target = f"{BENCH_DATABASE}_old_practice"
    db.drop_database(env, old_target)
    db.create_database(env, old_target)
    with libpq_child_environment(env, dbname=old_target) as pg:
        timed("gunzip | psql", lambda: _shell(
            f"gunzip -c {shlex.quote(str(dump_file))} | {shlex.quote(str(tool('psql')))} -q",
            pg))  # fmt: skip
    db.drop_database(env, old_target)
    logical = timed("db.backup", lambda: take_logical_backup(env, settings))
    timed("db.restore (logical)", lambda: execute_restore(env, logical))
    physical = timed("db.backup --physical", lambda: take_physical_backup(env, settings))
    timed("db.restore (physical)", lambda: execute_restore(env, physical))
    for backup in (logical, physical):  # the next round takes its own
        shutil.rmtree(backup.path, ignore_errors=True)
    return seconds


def _quiesce(env: Environment) -> None:
    """Write out what the previous step left dirty, off the clock: otherwise the step after
    a restore pays for the checkpoint of the gigabyte that restore wrote, and for the kernel
    writing it to disk while this step writes its own (a physical restore's copy took 3 s
    after a restore and a backup, 0.7 s after a sync)."""
    with db.connection(env, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CHECKPOINT")
    os.sync()


def _shell(script: str, environment: dict[str, str]) -> None:
    run_command(["sh", "-c", f"set -eu; {script}"], env=environment, timeout=7200)


def _database_size(env: Environment) -> int:
    with db.connection(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        return int(fetch_one(cur)[0])
