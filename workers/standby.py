"""A worker started before its job: the local executor keeps one spare worker waiting, so a
job's process has already paid for the interpreter, the imports and the environment file when
the foreman starts the job (`foreman.executors.local`).

The spare opens its job's two database connections (workers.runtime.Connections) and imports
the applications declared `preload = true` (workers.registry.preload_handlers), then blocks
on one line of its standard input, `{"job_id": 7, "memory_mb": 2048, "log": "<the attempt's
log file>"}`, points its output at that log, and runs the job exactly as `run-job JOB_ID`
would (the executor capped its memory before writing the line). End of input without a line —
the foreman stopped, or died — ends it with 0, having touched nothing.
"""

from __future__ import annotations

import os
import sys
from typing import IO

# Every application records to the catalog: its code is loaded while the spare waits rather
# than after its job is handed over (~5 ms), as the rest of the worker's core is.
from common import catalog  # noqa: F401
from common.environments import Environment
from common.worker_identity import MEMORY_VARIABLE, read_standby_order
from workers.registry import preload_handlers
from workers.runtime import Connections, run_job


def wait_for_job(env: Environment, orders: IO[str] | None = None) -> int:
    """Wait for one job on `orders` (standard input), then run it; its exit code."""
    connections = Connections(env).open_ahead()
    preload_handlers()
    line = (orders or sys.stdin).readline()
    if not line.strip():
        return 0
    job_id, memory_mb, log_path = read_standby_order(line)
    _write_output_to(log_path)
    os.environ[MEMORY_VARIABLE] = str(memory_mb)
    return run_job(env, job_id, connections=connections)


def _write_output_to(log_path: str) -> None:
    """Standard output and error (and so the log handler on stderr) go to the job's log."""
    sys.stdout.flush()
    sys.stderr.flush()
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
