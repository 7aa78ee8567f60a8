"""What a worker pays at start for every job: its entry point and every handler module load,
but polars (the gene-level summary's alone) is imported only when a summary runs."""

from __future__ import annotations

import subprocess
import sys

from common.environments import REPO_ROOT

PROBE = (
    "import sys, workers.__main__\n"
    "from workers.registry import load_handler_modules\n"
    "load_handler_modules()\n"
    "print('polars' in sys.modules)\n"
)


def test_a_worker_starts_without_importing_polars():
    shown = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert shown.stdout.strip() == "False"
