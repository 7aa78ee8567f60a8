"""Waiting for work that was queued: a job and every job it led to, until all have ended.

`inv local.demo` and `inv jobs.survey --wait` watch a survey's tree this way: the bar counts
jobs that have ended out of the jobs the tree holds so far (it grows as the survey creates
downloads and the downloads create processing), on stderr, so stdout stays the result.
"""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from common.db import connection
from common.environments import Environment
from ops.taskkit import err_console
from workers.submit import JobTreeProgress, job_tree_progress

POLL_SECONDS = 0.5


def wait_for_job_tree(env: Environment, root_job_id: int, *, timeout: float) -> JobTreeProgress:
    """Poll the job tree under `root_job_id`, with a progress bar, until it ends or times out."""
    deadline = time.monotonic() + timeout
    with (
        connection(env, autocommit=True) as conn,
        Progress(
            TextColumn("jobs", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar,
    ):
        task_id = bar.add_task("", total=1)
        while True:
            state = job_tree_progress(conn, root_job_id)
            bar.update(
                task_id,
                total=state.total,
                completed=state.finished,
                description=f"{len(state.failed)} failed" if state.failed else "",
            )
            if state.done or time.monotonic() >= deadline:
                return state
            time.sleep(POLL_SECONDS)
