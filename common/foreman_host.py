"""The foreman host of an environment (`[foreman_host]`): how an operator's machine reaches it.

The deploy restarts the foreman there over SSH (ops/runbooks/foreman_restart.py), a restore
stops and starts it there, and an operator's tasks reach a private database through it
(common/tunnel.py). All of them read the same validated settings and open SSH connections
the same way: with the key file handed to the SSH library (never argv), no agent, no
`~/.ssh/config`, and host keys checked strictly when a known-hosts file is given.

```toml
[foreman_host]
hosts = ["foreman-1.internal", "foreman-2.internal:2222"]  # host or host:port
port = 22                                   # default port for hosts without one
user = "refinery"                           # default: this machine's login name, as ssh does
key_file = "~/.ssh/refinery-deploy"         # 0600; a relative path is in the state folder
restart_command = "sudo systemctl restart refinery-foreman"
stop_command = "sudo systemctl stop refinery-foreman"    # a restore stops the writers…
start_command = "sudo systemctl start refinery-foreman"  # …and starts them again
known_hosts_file = "~/.ssh/known_hosts"     # optional: verify host keys strictly
connect_timeout_seconds = 10
command_timeout_seconds = 120
```
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.environments import Environment
from common.errors import ConfigError

SECTION = "foreman_host"
_ALLOWED = {
    "hosts",
    "port",
    "user",
    "key_file",
    "restart_command",
    "stop_command",
    "start_command",
    "known_hosts_file",
    "connect_timeout_seconds",
    "command_timeout_seconds",
}


@dataclass(frozen=True)
class ForemanHostSettings:
    """How to reach the foreman's hosts and restart, stop or start the foreman there."""

    hosts: tuple[tuple[str, int], ...]
    user: str
    key_file: Path
    restart_command: str
    known_hosts_file: Path | None = None
    connect_timeout_seconds: float = 10
    command_timeout_seconds: float = 120
    stop_command: str = ""
    start_command: str = ""

    @property
    def host_names(self) -> list[str]:
        return [f"{host}:{port}" for host, port in self.hosts]


def has_foreman_host(env: Environment) -> bool:
    """Whether `env` names a foreman host at all (the local environment does not)."""
    return bool(env.section(SECTION))


def foreman_host_settings(env: Environment) -> ForemanHostSettings:
    """`[foreman_host]` of `env`, validated (the key file must exist and be 0600)."""
    section = env.section(SECTION)
    where = f"{env.path}: foreman_host"
    if not section:
        raise ConfigError(f"{env.path}: missing section [foreman_host] (hosts, user, key_file…)")
    unknown = sorted(set(section) - _ALLOWED)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]} is unknown (allowed: {sorted(_ALLOWED)})")
    for key in ("hosts", "key_file", "restart_command"):
        if not section.get(key):
            raise ConfigError(f"{where}.{key} is required")
    default_port = _port(where, section.get("port", 22))
    raw_hosts = section["hosts"]
    if not isinstance(raw_hosts, list) or not all(isinstance(h, str) for h in raw_hosts):
        raise ConfigError(f"{where}.hosts must be a list of host or host:port strings")
    hosts = tuple(_split_host(where, entry, default_port) for entry in raw_hosts)
    key_file = _private_file(where, "key_file", _path(env, section["key_file"]))
    known_hosts = section.get("known_hosts_file")
    return ForemanHostSettings(
        hosts=hosts,
        user=str(section.get("user") or getpass.getuser()),
        key_file=key_file,
        restart_command=str(section["restart_command"]),
        known_hosts_file=_path(env, known_hosts) if known_hosts else None,
        connect_timeout_seconds=float(section.get("connect_timeout_seconds", 10)),
        command_timeout_seconds=float(section.get("command_timeout_seconds", 120)),
        stop_command=str(section.get("stop_command", "")),
        start_command=str(section.get("start_command", "")),
    )


def ssh_connection(settings: ForemanHostSettings, host: str, port: int) -> Any:
    """A Fabric connection to one foreman host (not yet opened)."""
    import paramiko
    from fabric import Config, Connection

    config = Config(overrides={"load_ssh_configs": False})
    connection = Connection(
        host,
        user=settings.user,
        port=port,
        config=config,
        connect_timeout=settings.connect_timeout_seconds,
        connect_kwargs={
            "key_filename": [str(settings.key_file)],
            "look_for_keys": False,
            "allow_agent": False,
        },
    )
    if settings.known_hosts_file is not None:
        if not settings.known_hosts_file.is_file():
            raise ConfigError(
                f"foreman_host.known_hosts_file {settings.known_hosts_file} does not exist"
            )
        try:
            connection.client.load_host_keys(str(settings.known_hosts_file))
        except (OSError, paramiko.SSHException) as exc:
            raise ConfigError(
                f"foreman_host.known_hosts_file {settings.known_hosts_file} is unreadable: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from None
        connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return connection


def _path(env: Environment, value: Any) -> Path:
    """A configured file: `~` expanded; a relative path lies in the environment's state folder
    (where `inv sandbox.up` generates the sandbox's keys)."""
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else env.state_dir / path


def _split_host(where: str, entry: str, default_port: int) -> tuple[str, int]:
    host, sep, port = entry.rpartition(":")
    if not sep:
        return entry, default_port
    if not host:
        raise ConfigError(f"{where}.hosts entry {entry!r} has no host name")
    return host, _port(where, port)


def _port(where: str, value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: port {value!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{where}: port {port} is out of range 1-65535")
    return port


def _private_file(where: str, key: str, path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"{where}.{key} {path} does not exist")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{where}.{key} {path} must be 0600 (chmod 600 {path})")
    return path
