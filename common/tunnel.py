"""SSH tunnels to a private database through the environment's foreman host.

In the cloud the database has no public address: only the foreman host (and the Batch
workers) reach it. An operator's `inv` reaches it the way `ssh -L` would: a local port on
127.0.0.1 forwarded over SSH to the database's address as the foreman host sees it. The
environment asks for this with `[database] tunnel = "foreman_host"`; the SSH settings are
`[foreman_host]`'s (common/foreman_host.py), so the key and host-key checks are the deploy's.

Tunnels are opened on first use inside `tunnel_scope()` — every `inv` task runs in one
(ops/taskkit.py) — and all closed when it ends. Outside a scope (the foreman on its host,
a worker in its container: both inside the network) nothing is tunnelled.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from common.errors import DatabaseError, first_line

if TYPE_CHECKING:
    from common.environments import Environment

log = logging.getLogger(__name__)

TUNNEL_VIA_FOREMAN_HOST = "foreman_host"
_OPEN_TIMEOUT_S = 10


class _Scope:
    """The tunnels of one task: {(env, host, port): local port}, closed together."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.ports: dict[tuple[str, str, int], int] = {}


_scopes: list[_Scope] = []


@contextmanager
def tunnel_scope() -> Iterator[None]:
    """Within this block, databases that ask for a tunnel get one (closed on exit)."""
    scope = _Scope()
    _scopes.append(scope)
    try:
        yield
    finally:
        _scopes.remove(scope)
        scope.stack.close()


def tunnels_in_use() -> bool:
    """Whether this code runs inside a `tunnel_scope` (an operator's task)."""
    return bool(_scopes)


def wants_tunnel(env: Environment) -> bool:
    return env.database.tunnel == TUNNEL_VIA_FOREMAN_HOST and tunnels_in_use()


def local_endpoint(env: Environment, remote_host: str, remote_port: int) -> tuple[str, int]:
    """127.0.0.1 and the local port forwarded to `remote_host:remote_port` via the foreman
    host, opening the tunnel on first use in the current scope."""
    scope = _scopes[-1]
    key = (env.name, remote_host, remote_port)
    if key not in scope.ports:
        scope.ports[key] = _open(scope.stack, env, remote_host, remote_port)
    return "127.0.0.1", scope.ports[key]


def _open(stack: ExitStack, env: Environment, remote_host: str, remote_port: int) -> int:
    from common.foreman_host import foreman_host, ssh_connection, way_in_failure

    settings = foreman_host(env)
    host, ssh_port = settings.hosts[0]
    connection = ssh_connection(settings, host, ssh_port)
    where = f"{remote_host}:{remote_port} via {settings.user}@{host}:{ssh_port}"
    try:
        connection.open()
    except Exception as exc:  # paramiko and socket errors alike: say where and why
        why = way_in_failure(connection) or first_line(exc)
        connection.close()
        raise DatabaseError(
            f"cannot open the {env.name} database tunnel to {where}: {why}"
        ) from None
    stack.callback(connection.close)
    local_port = _free_port()
    stack.enter_context(
        connection.forward_local(
            local_port, remote_port=remote_port, remote_host=remote_host, local_host="127.0.0.1"
        )
    )
    _wait_listening(local_port, where)
    log.info("tunnel 127.0.0.1:%d -> %s", local_port, where, extra={"env": env.name, "host": host})
    return local_port


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, where: str) -> None:
    """The forwarder binds its port on its own thread: wait until it accepts."""
    deadline = time.monotonic() + _OPEN_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise DatabaseError(f"the database tunnel to {where} did not start listening")
