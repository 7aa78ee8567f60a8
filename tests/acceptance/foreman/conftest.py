from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from tests.support.foreman import HANDLER_MODULES


@pytest.fixture
def inv():
    """Run `inv ARGS…` from the repository root, as a person would."""
    executable = Path(sys.executable).with_name("inv")

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(executable), *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "REFINERY_HANDLER_MODULES": HANDLER_MODULES, "COLUMNS": "200"},
        )

    return run


@pytest.fixture(autouse=True)
def test_handlers(monkeypatch):
    """Workers started in-process by these tests also load the test handlers."""
    monkeypatch.setenv("REFINERY_HANDLER_MODULES", HANDLER_MODULES)
