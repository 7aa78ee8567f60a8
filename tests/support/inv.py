"""`inv ARGS…` as a person types it: a real process from the repository root.

The one helper new tests use to run a task; tests/unit/test_every_task_is_run.py finds the
tasks run through it (and through the older helpers it lists) to prove every task in the
README's tables is run by some test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common.environments import REPO_ROOT

INV = str(Path(sys.executable).with_name("inv"))


def run_inv(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    stdin: str = "",
    columns: int = 200,
) -> subprocess.CompletedProcess[str]:
    """`inv ARGS…` in a subprocess with this process's environment, plus `env` (a value of ""
    leaves that variable out)."""
    variables = {**os.environ, "COLUMNS": str(columns), **(env or {})}
    return subprocess.run(
        [INV, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env={key: value for key, value in variables.items() if value != ""},
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error contract: exactly one `error: …` line on stderr, no traceback. The line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def table_columns(text: str, title: str) -> list[tuple[str, str]]:
    """(header, body) of every column of the rich table titled `title` in `text`, each with
    its lines joined and every space removed: what a folded or wrapped cell holds, whole. A
    cell cut short shows as `…` in it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    top = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("┏"))
    head, body = [], []
    part = head
    for line in lines[top + 1 :]:
        stripped = line.strip()
        if stripped.startswith("┡"):
            part = body
            continue
        if stripped.startswith("└"):
            break
        part.append([cell for cell in stripped.strip("┃│").replace("┃", "│").split("│")])
    width = len(head[0])

    def joined(rows: list[list[str]], index: int) -> str:
        return "".join(row[index] for row in rows if len(row) == width).replace(" ", "")

    return [(joined(head, i), joined(body, i)) for i in range(width)]
