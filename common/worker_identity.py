"""Who a worker process is: the job it runs, its place in an array job, the memory it was given.

The foreman decides these when it starts a worker, and the worker reads them back. Both sides
go through this module, so each is spelled once:

- the job: `python -m workers run-job JOB_ID`, or `run-job --submission TOKEN` for a recorded
  submission (AWS Batch), whose member the worker finds from its array index;
- the array child: AWS Batch sets `AWS_BATCH_JOB_ID` (`<parent id>:<index>` for a child of an
  array job) and `AWS_BATCH_JOB_ARRAY_INDEX`; an emulator may set only the first;
- the memory: `REFINERY_MEMORY_MB`, set by the local executor and by every job definition;
  a worker started without it has the memory of its job's tier;
- a standby worker (`python -m workers standby`, started before its job exists) learns all of
  it from one `standby_order` line on its standard input.

Megabyte values are called `memory_mb` everywhere; a `memory_tier` is an index into the
environment's `[executor] memory_tiers_mb`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from common.environments import Environment
from common.errors import ValidationError
from common.inputs import is_digits

MEMORY_VARIABLE = "REFINERY_MEMORY_MB"
EXECUTOR_JOB_ID_VARIABLE = "AWS_BATCH_JOB_ID"
ARRAY_INDEX_VARIABLE = "AWS_BATCH_JOB_ARRAY_INDEX"
DEFAULT_MEMORY_MB = 2048  # an environment that lists no tiers


def worker_command(job_id: int) -> tuple[str, ...]:
    """The command an executor runs for one job: the workers' entry point."""
    return ("python", "-m", "workers", "run-job", str(job_id))


def standby_worker_command() -> tuple[str, ...]:
    """A worker started before its job exists: it loads its code and environment, then waits
    for one job on its standard input (`workers.standby`; the local executor's spare)."""
    return ("python", "-m", "workers", "standby")


def standby_order(job_id: int, memory_mb: int, log_path: str) -> bytes:
    """The one line a standby worker waits for: the job to run, its memory, its log file."""
    return json.dumps({"job_id": job_id, "memory_mb": memory_mb, "log": log_path}).encode() + b"\n"


def read_standby_order(line: str) -> tuple[int, int, str]:
    """(job id, memory_mb, log path) of a `standby_order` line; a ValidationError otherwise."""
    try:
        order: Any = json.loads(line)
        job_id, memory_mb, log_path = order["job_id"], order["memory_mb"], order["log"]
    except (ValueError, TypeError, KeyError):
        raise ValidationError("a standby worker's order must be a JSON object with job_id, "
                              "memory_mb and log") from None  # fmt: skip
    if not (isinstance(job_id, int) and isinstance(memory_mb, int) and isinstance(log_path, str)):
        raise ValidationError("a standby worker's order has a value of the wrong type")
    return job_id, memory_mb, log_path


def job_of_worker_command(command: tuple[str, ...] | list[str]) -> int | None:
    """The job id of a `worker_command`, None for any other command."""
    if not command:
        return None
    *head, job = command
    if tuple(head) == worker_command(0)[:-1] and is_digits(job):
        return int(job)
    return None


def submission_worker_command(token: str) -> tuple[str, ...]:
    """The command of a recorded submission (each child of an array, or a lone job): the
    worker resolves its job and attempt from the token and its array index."""
    return ("python", "-m", "workers", "run-job", "--submission", token)


def memory_mb_for_tier(env: Environment, memory_tier: int) -> int:
    """Memory (MB) of tier `memory_tier`; tiers past the last one get the largest."""
    tiers = env.executor.memory_tiers_mb or (DEFAULT_MEMORY_MB,)
    return int(tiers[min(memory_tier, len(tiers) - 1)])


def child_job_id(parent_id: str, index: int) -> str:
    """The executor's id of child `index` of array job `parent_id`."""
    return f"{parent_id}:{index}"


def split_child_id(executor_job_id: str) -> tuple[str, int] | None:
    """(parent id, index) of an array child's id, None for a plain job's."""
    parent, sep, index = executor_job_id.rpartition(":")
    if not sep or not is_digits(index):
        return None
    return parent, int(index)


def executor_job_id() -> str | None:
    """The executor's id of the job this process runs as, when its environment says (AWS
    Batch; `<parent>:<index>` for an array child); None elsewhere."""
    return os.environ.get(EXECUTOR_JOB_ID_VARIABLE) or None


def array_index() -> int:
    """This process's index in its array job: AWS_BATCH_JOB_ARRAY_INDEX, else the ending of
    AWS_BATCH_JOB_ID, else 0 (a lone job)."""
    index = os.environ.get(ARRAY_INDEX_VARIABLE, "")
    if is_digits(index):
        return int(index)
    child = split_child_id(executor_job_id() or "")
    return child[1] if child is not None else 0


def worker_memory_mb(env: Environment, memory_tier: int) -> int:
    """The memory this worker was given: REFINERY_MEMORY_MB, else its tier's."""
    value = os.environ.get(MEMORY_VARIABLE, "")
    return int(value) if is_digits(value) else memory_mb_for_tier(env, memory_tier)
