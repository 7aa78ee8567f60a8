"""A rich progress bar (on stderr) that logic modules drive through a plain callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ops.taskkit import err_console


@contextmanager
def progress_callback() -> Iterator:
    """Yields `callback(stage, advance, total)`; each stage gets its own bar."""
    bars = Progress(
        TextColumn("{task.description:>11}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def callback(stage: str, advance: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        elif total is not None:
            bars.update(tasks[stage], total=total)
        if advance:
            bars.advance(tasks[stage], advance)

    with bars:
        yield callback
