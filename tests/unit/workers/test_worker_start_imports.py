"""What a worker pays at start: its entry point and the one module its job's application
names. polars (dataset building's and the gene-level summary's) and numpy (RMA's, the
summaries') are imported only when a job that computes with them runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common.environments import REPO_ROOT

PROBE = """
import json, sys, workers.__main__
from workers.registry import handler_for
handler_for({kind!r}, {name!r})
print(json.dumps([name for name in ("numpy", "polars") if name in sys.modules]))
"""


def _imported_for(kind: str, name: str) -> list[str]:
    shown = subprocess.run(
        [sys.executable, "-c", PROBE.format(kind=kind, name=name)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(shown.stdout)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("download", "download"), ("process", "salmon"), ("process", "no_op"),
     ("survey", "delivery")],
)  # fmt: skip
def test_a_worker_running_a_light_job_imports_no_numeric_library(kind, name):
    assert _imported_for(kind, name) == []


def test_a_worker_running_a_dataset_build_imports_what_it_computes_with():
    assert "numpy" in _imported_for("dataset", "matrices")
