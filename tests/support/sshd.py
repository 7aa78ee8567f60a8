"""A real OpenSSH server on loopback for runbook tests, started and stopped by pid.

The same server the sandbox runs as its foreman host (ops/sandbox/sshd.py): its own host key,
an authorized client key and a config in a temporary folder, listening on 127.0.0.1 only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.sandbox.processes import SandboxError, free_port, stop_process
from ops.sandbox.sshd import SshServer
from ops.sandbox.sshd import start_sshd as _start_sshd

__all__ = ["SshServer", "start_sshd", "stop_sshd", "unused_port"]


def start_sshd(directory: Path) -> SshServer:
    """Generate keys and a config under `directory` and start sshd; fail clearly if it can't."""
    try:
        return _start_sshd(directory)
    except SandboxError as exc:
        pytest.fail(str(exc))


def stop_sshd(server: SshServer) -> None:
    stop_process(server.process)


def unused_port() -> int:
    """A loopback port nothing listens on (for a host that must fail to connect)."""
    return free_port()
