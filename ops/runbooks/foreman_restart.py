"""Runbook: restart the foreman on its hosts.

When: after a deploy or a rollback changed the code or the schema the foreman runs, or when
the foreman is stuck (its heartbeat in `foreman_heartbeats.beat_at` stopped advancing).

What it does:
1. Reads `[foreman_host]` from the environment file: the hosts, the SSH user and port, the
   private key file (must be mode 0600; it is handed to the SSH library, never put in argv)
   and the restart command (in production a `sudo systemctl restart refinery-foreman`).
2. Connects to every host at once and runs the restart command, `{version}` and
   `{environment}` replaced by the release being started and the environment's name.
3. Returns one result per host. If any host failed, raises ONE error naming every failed
   host and why, after every host was tried — a restart never stops silently at the first
   bad host.

By hand: `ssh -i KEY USER@HOST 'sudo systemctl restart refinery-foreman'` on each host, then
watch `SELECT foreman_id, hostname, role, beat_at FROM foreman_heartbeats` until `beat_at`
moves past the time of the restart. If a host refuses the connection, check sshd and the
security group; if the command fails, read `journalctl -u refinery-foreman` on that host.

```toml
[foreman_host]
hosts = ["foreman-1.internal", "foreman-2.internal:2222"]  # host or host:port
port = 22                                   # default port for hosts without one
user = "refinery"
key_file = "~/.ssh/refinery-deploy"         # 0600
restart_command = "sudo systemctl restart refinery-foreman"
known_hosts_file = "~/.ssh/known_hosts"     # optional: verify host keys strictly
connect_timeout_seconds = 10
command_timeout_seconds = 120
```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.environments import Environment
from common.errors import CommandError, ConfigError
from common.files import private_file
from common.settings.operations import ForemanHostSection
from common.shell import last_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForemanHostSettings:
    """How to reach the foreman's hosts and restart it there."""

    hosts: tuple[tuple[str, int], ...]
    user: str
    key_file: Path
    restart_command: str
    known_hosts_file: Path | None = None
    connect_timeout_seconds: float = 10
    command_timeout_seconds: float = 120

    @property
    def host_names(self) -> list[str]:
        return [f"{host}:{port}" for host, port in self.hosts]


@dataclass(frozen=True)
class HostResult:
    """What happened on one host."""

    host: str
    ok: bool
    exit_code: int | None
    output: str
    error: str


class ForemanRestartError(CommandError):
    """The restart failed on one or more hosts; `results` has every host's outcome."""

    def __init__(self, message: str, results: list[HostResult]) -> None:
        super().__init__(message)
        self.results = results

    @property
    def failed_hosts(self) -> list[str]:
        return [result.host for result in self.results if not result.ok]


def foreman_host_settings(env: Environment) -> ForemanHostSettings:
    """`[foreman_host]` of `env` (validated at load); the key file must exist and be 0600."""
    if not env.section("foreman_host"):
        raise ConfigError(f"{env.path}: missing section [foreman_host] (hosts, user, key_file…)")
    section = ForemanHostSection.for_environment(env)
    where = f"{env.path}: foreman_host"
    return ForemanHostSettings(
        hosts=tuple(_split_host(entry, section.port) for entry in section.hosts),
        user=section.user,
        key_file=_private_file(where, "key_file", section.key_file),
        restart_command=section.restart_command,
        known_hosts_file=(
            Path(section.known_hosts_file).expanduser() if section.known_hosts_file else None
        ),
        connect_timeout_seconds=section.connect_timeout_seconds,
        command_timeout_seconds=section.command_timeout_seconds,
    )


def restart_command_for(settings: ForemanHostSettings, *, environment: str, version: str) -> str:
    """The command each host runs, with `{environment}` and `{version}` filled in."""
    return settings.restart_command.replace("{environment}", environment).replace(
        "{version}", version
    )


def restart_foreman(
    settings: ForemanHostSettings, *, environment: str, version: str
) -> list[HostResult]:
    """Run the restart command on every host; one aggregate error if any host failed."""
    from fabric import ThreadingGroup
    from fabric.exceptions import GroupException

    command = restart_command_for(settings, environment=environment, version=version)
    connections = [_connection(settings, host, port) for host, port in settings.hosts]
    group = ThreadingGroup.from_connections(connections)
    try:
        # in_stream=False: a deploy is unattended, the remote command must never wait on
        # (or steal) this process's stdin.
        outcome = group.run(
            command,
            hide=True,
            warn=False,
            in_stream=False,
            timeout=settings.command_timeout_seconds,
        )
    except GroupException as exc:
        outcome = exc.result
    finally:
        group.close()
    results = [_host_result(connection, outcome[connection]) for connection in connections]
    for result in results:
        extra = {"host": result.host, "env": environment, "version": version}
        if result.ok:
            log.info("foreman restarted on %s", result.host, extra=extra)
        else:
            log.warning("foreman restart failed on %s: %s", result.host, result.error, extra=extra)
    failed = [result for result in results if not result.ok]
    if failed:
        details = "; ".join(f"{result.host}: {result.error}" for result in failed)
        raise ForemanRestartError(
            f"foreman restart failed on {len(failed)} of {len(results)} host(s): {details}; "
            "see the foreman_restart runbook (ops/runbooks/foreman_restart.py)",
            results,
        )
    return results


def _connection(settings: ForemanHostSettings, host: str, port: int):
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
        connection.client.load_host_keys(str(settings.known_hosts_file))
        connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return connection


def _host_result(connection: Any, outcome: Any) -> HostResult:
    name = f"{connection.host}:{connection.port}"
    if isinstance(outcome, BaseException):
        return HostResult(
            name,
            False,
            getattr(getattr(outcome, "result", None), "exited", None),
            last_lines(getattr(getattr(outcome, "result", None), "stderr", "")),
            _describe(outcome),
        )
    return HostResult(name, outcome.exited == 0, outcome.exited, last_lines(outcome.stdout), "")


def _describe(exc: BaseException) -> str:
    result = getattr(exc, "result", None)
    if result is not None and getattr(result, "exited", None) is not None:
        tail = last_lines(result.stderr or result.stdout)
        return f"restart command exited {result.exited}" + (f": {tail}" if tail else "")
    wrapped = getattr(exc, "exceptions", None)
    if wrapped:  # invoke's ThreadException: report what failed inside the thread
        exc = wrapped[0].value
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no detail'}"


def _split_host(entry: str, default_port: int) -> tuple[str, int]:
    """`host` or `host:port` (the schema has checked the port) -> (host, port)."""
    host, sep, port = entry.rpartition(":")
    return (host, int(port)) if sep else (entry, default_port)


def _private_file(where: str, key: str, value: Any) -> Path:
    return private_file(str(value), f"{where}.{key}")
