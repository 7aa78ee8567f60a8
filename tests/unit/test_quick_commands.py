"""Quick commands stay quick: listing the tasks imports nothing a task only needs when it runs.

A structural guard, not a timing: `inv bench.quick` measures the time. Here the real `inv
--list` runs under `python -X importtime`, which names every module the process imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from common.environments import REPO_ROOT

# What a task imports when it runs: clients of AWS, Docker, SSH and HTTP, the surveyors, the
# settings schemas (an environment is loaded by a task given `-e`, never by the listing) and
# the numeric libraries of the benchmarks.
NOT_FOR_LISTING = (
    "requests", "boto3", "docker", "paramiko", "workers.surveyors", "common.settings", "numpy",
    "polars",
)  # fmt: skip


def imported_by_inv(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "invoke", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


@pytest.fixture(scope="module")
def listing_imports() -> set[str]:
    return imported_by_inv("--list")


@pytest.mark.parametrize("package", NOT_FOR_LISTING)
def test_inv_list_does_not_import(listing_imports, package):
    assert "ops.tasks" in listing_imports  # the listing really composed every area
    found = sorted(m for m in listing_imports if m == package or m.startswith(package + "."))
    assert found == [], f"inv --list imported {found[:5]}"
