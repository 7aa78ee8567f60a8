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
    """`inv ARGS…` in a subprocess with this process's environment (plus `env`)."""
    return subprocess.run(
        [INV, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env={**os.environ, "COLUMNS": str(columns), **(env or {})},
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error contract: exactly one `error: …` line on stderr, no traceback. The line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]
