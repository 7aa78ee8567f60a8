"""The foreman host of an environment (`[foreman_host]`): how an operator's machine reaches it.

The deploy restarts the foreman there over SSH (ops/foreman_restart.py), a restore
stops and starts it there, and an operator's tasks reach a private database through it
(common/tunnel.py). All of them read the same validated settings and open SSH connections
the same way: with the key file handed to the SSH library (never argv), no agent, no
`~/.ssh/config`, and host keys checked strictly when a known-hosts file is given.

The way in: on AWS the host has no public address and no SSH port open to the internet.
`way_in = "instance_connect_endpoint"` sends every connection through `proxy_command`, an
`aws ec2-instance-connect open-tunnel` that the stack's EC2 Instance Connect Endpoint
authorises with the caller's IAM credentials (ec2-instance-connect:OpenTunnel); SSH then runs
end to end over that stream, host key checked as ever. The sandbox rehearses the same shape
with a stand-in ProxyCommand (ops/sandbox/open_tunnel.py) that speaks plain TCP to its
loopback sshd. Hosts may name a stack output (`terraform:foreman_instance_id`).

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
way_in = "instance_connect_endpoint"        # default "direct"; {region} is [aws] region too
proxy_command = "aws ec2-instance-connect open-tunnel --instance-id {host} --remote-port {port}"
```
"""

from __future__ import annotations

import functools
import getpass
import os
import select
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.environments import REPO_ROOT, TERRAFORM_PREFIX, Environment
from common.errors import ConfigError, first_line
from common.files import private_file
from common.settings.deployment import ForemanHostSection

SECTION = "foreman_host"


@dataclass(frozen=True)
class ForemanHost:
    """The foreman's hosts of one environment as this machine reaches them: what
    `[foreman_host]` (`section`, read as it is for the commands, timeouts and way in) leaves
    to resolve here — stack outputs and default ports, the login name, files in the state
    folder, the region in the way in's command ({host} and {port} are filled per connection).
    """

    section: ForemanHostSection
    hosts: tuple[tuple[str, int], ...]
    user: str
    key_file: Path
    known_hosts_file: Path | None
    way_in_command: str  # the ProxyCommand, "" when SSH connects directly

    @property
    def host_names(self) -> list[str]:
        return [f"{host}:{port}" for host, port in self.hosts]


def has_foreman_host(env: Environment) -> bool:
    """Whether `env` names a foreman host at all (the local environment does not)."""
    return bool(env.section(SECTION))


def foreman_host(env: Environment) -> ForemanHost:
    """`[foreman_host]` of `env` (validated at load); the key file must exist and be 0600."""
    if not env.section(SECTION):
        raise ConfigError(f"{env.path}: missing section [foreman_host] (hosts, user, key_file…)")
    section = ForemanHostSection.for_environment(env)
    where = f"{env.path}: foreman_host"
    return ForemanHost(
        section=section,
        hosts=tuple(_split_host(_resolved(env, entry), section.port) for entry in section.hosts),
        user=section.user or getpass.getuser(),
        key_file=private_file(str(_path(env, section.key_file)), f"{where}.key_file"),
        known_hosts_file=(
            _path(env, section.known_hosts_file) if section.known_hosts_file else None
        ),
        way_in_command=section.proxy_command.replace("{region}", shlex.quote(env.aws.region)),
    )


def proxy_command_for(settings: ForemanHost, host: str, port: int) -> str | None:
    """The ProxyCommand that carries SSH to `host:port` (None: connect directly)."""
    if not settings.way_in_command:
        return None
    values = {"{host}": host, "{port}": str(port), "{python}": sys.executable,
              "{repo}": str(REPO_ROOT)}  # fmt: skip
    command = settings.way_in_command
    for token, value in values.items():
        command = command.replace(token, shlex.quote(value))
    return command


def ssh_connection(settings: ForemanHost, host: str, port: int) -> Any:
    """A Fabric connection to one foreman host (not yet opened)."""
    import paramiko
    from fabric import Config

    config = Config(overrides={"load_ssh_configs": False})
    connection = _tunnelled_connection_class()(
        host,
        user=settings.user,
        port=port,
        config=config,
        # A string gateway is a ProxyCommand: SSH rides on that command's stdin and stdout.
        gateway=proxy_command_for(settings, host, port),
        connect_timeout=settings.section.connect_timeout_seconds,
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
                f"{first_line(exc)}"
            ) from None
        connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return connection


def _path(env: Environment, value: Any) -> Path:
    """A configured file: `~` expanded; a relative path lies in the environment's state folder
    (where `inv sandbox.up` generates the sandbox's keys)."""
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else env.state_dir / path


def way_in_failure(connection: Any) -> str:
    """What the way in printed when SSH could not start over it (e.g. `aws ec2-instance-connect
    open-tunnel` refused by IAM), as one line; "" when it printed nothing. Its stderr is read
    without waiting and without reaping the process (closing the connection does that)."""
    proxy = getattr(connection, "proxy", None)
    if proxy is None:
        return ""
    stream = proxy.process.stderr
    chunks = []
    while select.select([stream], [], [], 0.2)[0]:
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        chunks.append(chunk)
    lines = [line.strip() for line in b"".join(chunks).decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return f"the way in said: {lines[-1]}" if lines else ""


@functools.cache
def _tunnelled_connection_class() -> Any:
    """Made on first use: Fabric is imported only when a connection is made."""
    from fabric import Connection
    from paramiko import ProxyCommand

    class TunnelledConnection(Connection):
        """A Connection that keeps its ProxyCommand, so a failure can say what it printed."""

        proxy: Any = None

        def open_gateway(self) -> Any:
            if isinstance(self.gateway, str):
                self.proxy = ProxyCommand(self.gateway)
                return self.proxy
            return super().open_gateway()

        def close(self) -> None:
            super().close()
            if self.proxy is not None:
                _wait_for_exit(self.proxy.process.pid)

    return TunnelledConnection


def _wait_for_exit(pid: int, timeout: float = 5.0) -> None:
    """Wait until the way-in process has exited (SIGKILL after `timeout`): paramiko's
    ProxyCommand.close only signals it, so a closed connection left it running for a moment.
    It is not reaped here (WNOWAIT): the transport's thread may still signal it, which a
    reaped pid would refuse, and subprocess reaps it later."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
        except ChildProcessError:
            return  # reaped already
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)


def _resolved(env: Environment, entry: str) -> str:
    """A host entry, or the stack output it names (`terraform:foreman_instance_id`)."""
    if not entry.startswith(TERRAFORM_PREFIX):
        return entry
    value = env.resolve(entry)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{env.path}: foreman_host.hosts {entry} is not a host name: {value!r}")
    return value


def _split_host(entry: str, default_port: int) -> tuple[str, int]:
    """`host` or `host:port` (the schema has checked the port) -> (host, port)."""
    host, sep, port = entry.rpartition(":")
    return (host, int(port)) if sep else (entry, default_port)
