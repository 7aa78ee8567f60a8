"""Which function handles which job.

A handler takes a `JobContext` and returns the job's result (a JSON-able dict). Every handler
writes its catalog rows and creates its child jobs through `ctx.conn`, in the one transaction
that also records the attempt as succeeded — so a crash before the commit leaves nothing, and a
retry starts clean. Lake writes are atomic and keyed by catalog keys, so redoing them is safe.

Handlers are found by (job kind, name): a survey job's `payload["source"]` (delivery, ena), a
download job is always `download`, an index job's is `salmon`, a process job's
`payload["application"]` (no_op, fastq_qc, salmon, summarise), a dataset job's
`payload["build"]` (matrices, qn_target, compendium).
Modules listed in REFINERY_HANDLER_MODULES (comma-separated) are imported too, for handlers
that live outside this package.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.environments import Environment
from common.errors import PermanentJobError
from common.lake import Lake
from foreman.jobs import Job
from foreman.jobs import handler_name as _handler_name
from workers.progress import TransferProgress

BUILTIN_MODULES = (
    "workers.surveyors", "workers.downloaders", "workers.processors",
    "workers.datasets.handlers", "workers.datasets.compendia",
)  # fmt: skip
EXTRA_MODULES_VARIABLE = "REFINERY_HANDLER_MODULES"


@dataclass
class JobContext:
    """What a handler gets: its job, environment, lake, a transaction, scratch space, and
    where to report the bytes its transfers move (see `workers.progress`)."""

    env: Environment
    job: Job
    conn: Any
    lake: Lake
    memory_mb: int
    scratch_dir: Path
    log: logging.LoggerAdapter
    transfers: TransferProgress = field(default_factory=TransferProgress)


Handler = Callable[[JobContext], dict[str, Any]]
_handlers: dict[tuple[str, str], Handler] = {}
_loaded = False


def handler(kind: str, name: str) -> Callable[[Handler], Handler]:
    """Decorator: register the function as the handler of (kind, name)."""

    def register(func: Handler) -> Handler:
        _handlers[(kind, name)] = func
        return func

    return register


def handler_name(job: Job) -> str:
    """The name a job's handler is registered under."""
    return _handler_name(job.kind, job.payload)


def registered_handlers() -> list[tuple[str, str]]:
    """Every (job kind, handler name) the workers can run, sorted: what gets a Batch job
    definition (ops.batch.definitions) and what the Batch executor may name."""
    load_handler_modules()
    return sorted(_handlers)


def find_handler(job: Job) -> Handler:
    """The handler for `job`, or a JobError naming what is registered."""
    load_handler_modules()
    name = handler_name(job)
    try:
        return _handlers[(job.kind, name)]
    except KeyError:
        known = sorted(n for kind, n in _handlers if kind == job.kind)
        raise PermanentJobError(
            f"no {job.kind} handler named {name!r} (known: {', '.join(known)})"
        ) from None


def handler_names(kind: str) -> list[str]:
    """Names registered for jobs of `kind` (e.g. the applications a process job may name)."""
    load_handler_modules()
    return sorted(name for handler_kind, name in _handlers if handler_kind == kind)


def load_handler_modules() -> None:
    global _loaded
    if _loaded:
        return
    extra = [m.strip() for m in os.environ.get(EXTRA_MODULES_VARIABLE, "").split(",") if m.strip()]
    for module in (*BUILTIN_MODULES, *extra):
        importlib.import_module(module)
    _loaded = True
