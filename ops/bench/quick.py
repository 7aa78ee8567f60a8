"""Quick commands stay quick: `inv` commands timed as whole processes against `inv --version`.

`inv --version` starts Python and Invoke and nothing of Refinery, so it is the floor every
command stands on. A command that only reads (`inv --list`, `inv jobs.status`) should cost a
small multiple of it: what a task needs is imported when the task runs, never by listing or
composing the collection. Commands run in turn (version, command, version, command…) so that
a machine whose speed drifts during the run moves both sides alike, and the medians are
compared. In the common report the ratio is `inv --version`'s time ÷ the command's time, so
"at most 2× `inv --version`" is a target of at least 0.5×.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common.environments import REPO_ROOT
from common.errors import CommandError
from common.shell import run_command
from ops.benchkit import Comparison

# (command after `inv`, most multiples of `inv --version` it may take); `{env}` is the -e value.
QUICK_COMMANDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("--list",), 3.0),
    (("jobs.status", "-e", "{env}"), 2.0),
)
BASELINE = ("--version",)


def inv_command() -> str:
    """The `inv` of this Python (the virtual environment's), else the one on PATH."""
    beside = Path(sys.executable).with_name("inv")
    return str(beside) if beside.exists() else shutil.which("inv") or "inv"


def time_command(argv: Sequence[str]) -> float:
    """Seconds from start to exit of one run of `argv` in the repository root; a command
    that fails is an error (a refused command is quick for the wrong reason)."""
    started = time.perf_counter()
    result = run_command(argv, cwd=REPO_ROOT, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise CommandError(f"{' '.join(argv[1:])} exited {result.returncode}: {last}")
    return seconds


def run_quick_bench(env_name: str, *, runs: int) -> list[Comparison]:
    """Each quick command against `inv --version`, `runs` times each in turn (after one
    warm-up of each), compared by their medians."""
    inv = inv_command()
    comparisons = []
    for words, most in QUICK_COMMANDS:
        argv = [inv, *(word.format(env=env_name) for word in words)]
        baseline = [inv, *BASELINE]
        time_command(baseline), time_command(argv)  # warm the page cache and .pyc files
        ours, theirs = [], []
        for _ in range(runs):
            theirs.append(time_command(baseline))
            ours.append(time_command(argv))
        comparisons.append(
            Comparison(
                benchmark=f"inv {' '.join(argv[1:])} (at most {most:g}× inv --version)",
                refinery_seconds=statistics.median(ours),
                peer="inv --version",
                peer_seconds=statistics.median(theirs),
                target=1 / most,
            )
        )
    return comparisons
