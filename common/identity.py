"""Who is running an operation, as recorded in audit logs, locks and backup manifests."""

from __future__ import annotations

import getpass
import socket


def operator_identity() -> str:
    """`user@host` of this process: what other people see as the actor or lock holder."""
    return f"{getpass.getuser()}@{socket.gethostname()}"
