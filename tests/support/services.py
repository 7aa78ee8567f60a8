"""Real services for tests, started as child processes on loopback and stopped by pid.

The programs are started by the same product code the sandbox uses (ops/sandbox/); here a
service that cannot start fails its fixture with a message that says why: a test never
silently skips because a component is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ops.sandbox.emulator import MotoServer
from ops.sandbox.emulator import start_moto as _start_moto
from ops.sandbox.processes import SandboxError, free_port, stop_process, wait_for_port

__all__ = ["MotoServer", "free_port", "start_moto", "stop_process", "wait_for_port"]


def start_moto(log_dir: Path) -> MotoServer:
    """A moto server on a free loopback port."""
    try:
        return _start_moto(log_dir, port=free_port())
    except SandboxError as exc:
        pytest.fail(str(exc))


def which_or_fail(program: str, hint: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: {hint}")
    return path
