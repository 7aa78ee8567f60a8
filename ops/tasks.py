"""The Invoke collection: `inv --list` from the repo root.

Each area lives in `ops/<area>/tasks.py` as its own Collection; this module only composes
them. It sets no Invoke configuration (`ns.configure`), and tasks do not read defaults from
`c.config`: what a task needs to know about a deployment is in the environment file named by
`-e`, declared and validated once in `common.settings`, because the same values are read by
code Invoke never runs (the foreman, the workers, the scheduled timers) and differ per
environment, not per machine. Option defaults are the task's own keyword defaults, shown by
`inv --help TASK`. The context `c` is passed to every task and left unused.

Importing every area costs over a second (boto3, docker, paramiko…), more than a quick command
such as `inv lake.check` takes to do its work. So when `inv` is asked to run `<area>.<task>`
tasks only, just those areas are imported; anything else (`inv --list`, a top-level task, a
bare `inv`, an import from Python) composes all of them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from invoke import Collection

from ops.taskkit import one_line_parse_errors, stop_quietly_on_broken_pipe

AREA_NAMES = (
    "analyses", "arrays", "batch", "bench", "data", "datasets", "db", "deploy", "foreman",
    "images", "index", "jobs", "lake", "local", "logs", "metadata", "projects", "release",
    "sandbox", "schedule", "search", "staging", "tf", "upstream", "users",
)  # fmt: skip
# task name -> the module (`ops/<name>/tasks.py`) whose task of that name is at the top level
TOP_LEVEL_TASKS = {"rollback": "deploy", "console": "console"}
# Each area keeps its benchmark task beside its code; they join the `bench` collection here,
# where the areas are composed, so that no area imports another's benchmark.
BENCH_TASKS = (
    ("ops.foreman.tasks_bench", "foreman_bench"),
    ("ops.jobs.tasks_bench", "workers_bench"),
    ("ops.db.tasks_bench", "backup_bench"),
    ("ops.lake.tasks_bench", "lake_bench"),
    ("ops.console.tasks_bench", "console_bench"),
    ("ops.batch.tasks_bench", "batch_bench"),
    ("ops.foreman.tasks_curve", "cost_curve"),
    ("ops.analyses.tasks_summarise_bench", "summarise_bench"),
    ("ops.datasets.tasks_bench", "datasets_bench"),
    ("ops.analyses.tasks_salmon_bench", "salmon_bench"),
    ("ops.arrays.tasks_bench", "affy_bench"),
)


def run_by_inv(argv: Sequence[str]) -> bool:
    """Whether this process is `inv` (or `python -m invoke`) rather than an import."""
    if not argv or os.path.basename(argv[0]) not in {"inv", "invoke", "__main__.py"}:
        return False
    return "invoke" in argv[0] or os.path.basename(argv[0]) != "__main__.py"


def requested_areas(argv: Sequence[str]) -> set[str] | None:
    """The areas an `inv` command line needs, or None when it may need all of them."""
    if not run_by_inv(argv):
        return None
    areas: set[str] = set()
    for word in argv[1:]:
        if word in TOP_LEVEL_TASKS or word.startswith(("--list", "-l", "--complete")):
            return None
        area, dot, _ = word.partition(".")
        if dot and area in AREA_NAMES:
            areas.add(area)
    return areas or None


def _area_module(name: str) -> ModuleType:
    return importlib.import_module(f"ops.{name}.tasks")


if run_by_inv(sys.argv):
    stop_quietly_on_broken_pipe()
    one_line_parse_errors()
_wanted = requested_areas(sys.argv)
AREAS = tuple(_area_module(name) for name in AREA_NAMES if _wanted is None or name in _wanted)

ns = Collection()
for area in AREAS:
    if area.__name__ == "ops.bench.tasks":
        for _module, _task in BENCH_TASKS:
            area.ns.add_task(getattr(importlib.import_module(_module), _task))
    ns.add_collection(area.ns)
if _wanted is None:
    for _name, _module in TOP_LEVEL_TASKS.items():
        ns.add_task(getattr(_area_module(_module), _name))
