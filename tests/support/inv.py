"""Running `inv` as a command does: a subprocess in the repository root, output captured."""

from __future__ import annotations

import subprocess
import sys

from common.environments import REPO_ROOT


def run_inv(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`inv ARGS` (as `python -m invoke`), with this process's environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
