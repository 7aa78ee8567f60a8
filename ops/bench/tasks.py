"""`inv bench.*`: Refinery against a peer, measured in the same run on the same machine.

Each area keeps its benchmark and its task (`ops/<area>/bench.py`, `ops/<area>/bench_tasks.py`);
this module only composes them. All of them report through `ops/bench/report.py`: the same
table, the same ratio (peer time ÷ Refinery time), and `--json`.
"""

from __future__ import annotations

from invoke import Collection

from ops.analyses.salmon_bench_tasks import salmon_bench
from ops.analyses.summarise_bench_tasks import summarise_bench
from ops.batch.bench_tasks import batch_bench
from ops.console.bench_tasks import console_bench
from ops.db.bench_tasks import backup_bench
from ops.foreman.bench_tasks import foreman_bench
from ops.foreman.curve_tasks import cost_curve
from ops.jobs.bench_tasks import workers_bench
from ops.lake.bench_tasks import lake_bench

ns = Collection("bench")
for bench_task in (
    foreman_bench,
    workers_bench,
    backup_bench,
    lake_bench,
    console_bench,
    batch_bench,
    cost_curve,
    summarise_bench,
    salmon_bench,
):
    ns.add_task(bench_task)
