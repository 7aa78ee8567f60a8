"""Progress of long work: the one callback logic modules report through, and its display.

Logic never prints. A function doing long work takes `progress: Progress = quiet` and calls

    progress("dumping refinery")          a step: one line saying what it is doing now
    progress("comparing", 0, 1200)        a counted stage: its total (when known)
    progress("comparing", 1)              … and each unit done

and a task hands it `progress_display()`, which shows steps as dim lines and each counted
stage as a bar, on stderr so that stdout stays the result (a table or `--json`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

from ops.taskkit import err_console, styled


class Progress(Protocol):
    """What long work calls as it goes (see the module docstring)."""

    def __call__(self, stage: str, advance: int = 0, total: int | None = None) -> None: ...


def quiet(stage: str, advance: int = 0, total: int | None = None) -> None:
    """A `Progress` that shows nothing: the default of every function taking one."""
    return None


@contextmanager
def progress_display(*, enabled: bool = True) -> Iterator[Progress]:
    """Yields a `Progress` that draws on stderr while the block runs (bars vanish after);
    `quiet` when not `enabled` (a task asked for `--json` output, say)."""
    if not enabled:
        yield quiet
        return
    bars = Bars(
        TextColumn("{task.description:>11}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    stages: dict[str, TaskID] = {}

    def show(stage: str, advance: int = 0, total: int | None = None) -> None:
        if stage not in stages:
            if not advance and total is None:
                bars.console.print(styled(f"… {stage}", "dim"))
                return
            stages[stage] = bars.add_task(stage, total=total)
        elif total is not None:
            bars.update(stages[stage], total=total)
        if advance:
            bars.advance(stages[stage], advance)

    with bars:
        yield show
