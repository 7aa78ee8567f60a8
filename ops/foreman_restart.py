"""Runbook: restart the foreman on its hosts.

When: after a deploy or a rollback changed the code or the schema the foreman runs, or when
the foreman is stuck (its heartbeat in `foreman_heartbeats.beat_at` stopped advancing; the
`no-foreman-heartbeat` alarm pages for that).

On call: `inv foreman.status -e ENV` shows the leader, its heartbeat age, version and host;
`inv foreman.restart -e ENV` restarts every host at the release running now (or `-v VERSION`)
and waits for a fresh heartbeat. Both go the way every task goes: through the environment's
way in (`[foreman_host] way_in`, on AWS the EC2 Instance Connect Endpoint).

What it does:
1. Reads `[foreman_host]` from the environment file: the hosts, the SSH user and port, the
   private key file (must be mode 0600; it is handed to the SSH library, never put in argv)
   and the restart command (in production a `sudo systemctl restart refinery-foreman`).
2. Connects to every host at once and runs the restart command, `{version}` and
   `{environment}` replaced by the release being started and the environment's name.
3. Returns one result per host. If any host failed, raises ONE error naming every failed
   host and why, after every host was tried — a restart never stops silently at the first
   bad host.

If a host refuses the connection, check the tunnel (`aws ec2-instance-connect open-tunnel
--instance-id ID --remote-port 22` needs the stack's way-in policy) and the security group;
if the command fails, read `inv logs -e ENV --filter refinery-foreman`.

The settings are `[foreman_host]` (common/foreman_host.py documents every key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common.errors import CommandError, first_line
from common.foreman_host import (  # noqa: F401 - the runbook's public settings API
    ForemanHost,
    foreman_host,
    ssh_connection,
    way_in_failure,
)
from common.shell import last_lines

log = logging.getLogger(__name__)


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


def restart_command_for(settings: ForemanHost, *, environment: str, version: str) -> str:
    """The command each host runs, with `{environment}` and `{version}` filled in."""
    return settings.section.restart_command.replace("{environment}", environment).replace(
        "{version}", version
    )


def restart_foreman(settings: ForemanHost, *, environment: str, version: str) -> list[HostResult]:
    """Run the restart command on every host; one aggregate error if any host failed."""
    command = restart_command_for(settings, environment=environment, version=version)
    return run_on_foreman_hosts(settings, command, action="restart")


def stop_foreman(settings: ForemanHost, *, environment: str) -> list[HostResult]:
    """Stop the foreman on every host (`stop_command`), e.g. while a restore swaps databases."""
    if not settings.section.stop_command:
        raise CommandError(
            f"{environment}: no [foreman_host] stop_command: the foreman on "
            f"{', '.join(settings.host_names)} cannot be stopped; add one (see "
            "common/foreman_host.py)"
        )
    command = settings.section.stop_command.replace("{environment}", environment)
    return run_on_foreman_hosts(settings, command, action="stop")


def start_foreman(settings: ForemanHost, *, environment: str) -> list[HostResult]:
    """Start the foreman again on every host (`start_command`) at the release it last ran."""
    if not settings.section.start_command:
        raise CommandError(f"{environment}: no [foreman_host] start_command")
    command = settings.section.start_command.replace("{environment}", environment)
    return run_on_foreman_hosts(settings, command, action="start")


def run_on_foreman_hosts(settings: ForemanHost, command: str, *, action: str) -> list[HostResult]:
    """Run `command` on every host at once; one aggregate error naming every failed host."""
    from fabric import ThreadingGroup
    from fabric.exceptions import GroupException

    connections = [ssh_connection(settings, host, port) for host, port in settings.hosts]
    group = ThreadingGroup.from_connections(connections)
    try:
        # in_stream=False: a deploy is unattended, the remote command must never wait on
        # (or steal) this process's stdin.
        outcome = group.run(
            command,
            hide=True,
            warn=False,
            in_stream=False,
            timeout=settings.section.command_timeout_seconds,
        )
    except GroupException as exc:
        outcome = exc.result
    finally:
        group.close()
    results = [_host_result(connection, outcome[connection], action) for connection in connections]
    for result in results:
        extra = {"host": result.host, "action": action}
        if result.ok:
            log.info("foreman %s done on %s", action, result.host, extra=extra)
        else:
            log.warning(
                "foreman %s failed on %s: %s", action, result.host, result.error, extra=extra
            )
    failed = [result for result in results if not result.ok]
    if failed:
        details = "; ".join(f"{result.host}: {result.error}" for result in failed)
        raise ForemanRestartError(
            f"foreman {action} failed on {len(failed)} of {len(results)} host(s): {details}; "
            "see the foreman restart runbook (ops/foreman_restart.py)",
            results,
        )
    return results


def _host_result(connection: Any, outcome: Any, action: str) -> HostResult:
    name = f"{connection.host}:{connection.port}"
    if isinstance(outcome, BaseException):
        return HostResult(
            name,
            False,
            getattr(getattr(outcome, "result", None), "exited", None),
            last_lines(getattr(getattr(outcome, "result", None), "stderr", "")),
            way_in_failure(connection) or _describe(outcome, action),
        )
    return HostResult(name, outcome.exited == 0, outcome.exited, last_lines(outcome.stdout), "")


def _describe(exc: BaseException, action: str) -> str:
    result = getattr(exc, "result", None)
    if result is not None and getattr(result, "exited", None) is not None:
        tail = last_lines(result.stderr or result.stdout)
        return f"{action} command exited {result.exited}" + (f": {tail}" if tail else "")
    wrapped = getattr(exc, "exceptions", None)
    if wrapped:  # invoke's ThreadException: report what failed inside the thread
        exc = wrapped[0].value
    return first_line(exc, f"{type(exc).__name__}: no detail", typed=True)
