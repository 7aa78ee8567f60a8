"""On-call's two buttons: what the foreman is doing, and restarting it outside a deploy.

Both go the way every other task goes (common/tunnel.py): the database through the foreman
host, the host through the environment's way in (`[foreman_host] way_in`). `status` reads
`foreman_heartbeats` (leader, heartbeat age, version, host); `restart` runs the restart
runbook (ops/foreman_restart.py) at the release that is running — or the one given —
and then waits, as the deploy's smoke step does, for a heartbeat newer than the restart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from common.db import connection
from common.environments import Environment
from common.errors import CommandError
from common.foreman_host import foreman_host
from common.settings.deployment import DeploySection
from common.sql import query
from ops.deploy.smoke import Heartbeat, database_now, wait_for_fresh_heartbeat
from ops.foreman_restart import HostResult, restart_foreman


@dataclass(frozen=True)
class ForemanBeat(Heartbeat):
    """One foreman as its heartbeat row shows it, with how old that beat is."""

    age_seconds: float


@dataclass
class ForemanStatus:
    """The environment's foremen, its configured hosts and the way in to them."""

    environment: str
    hosts: list[str]
    way_in: str
    foremen: list[ForemanBeat] = field(default_factory=list)

    @property
    def leader(self) -> ForemanBeat | None:
        return next((beat for beat in self.foremen if beat.role == "leader"), None)

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "hosts": self.hosts, "way_in": self.way_in,
                "foremen": [asdict(beat) for beat in self.foremen]}  # fmt: skip

    def rows(self) -> list[tuple[Any, ...]]:
        """One row per foreman: id, role, heartbeat age, version, host, pid, started."""
        return [(b.foreman_id, b.role, f"{b.age_seconds:.0f}", b.version, b.hostname, b.pid,
                 b.started_at.isoformat(timespec="seconds")) for b in self.foremen]  # fmt: skip

    @property
    def running_version(self) -> str | None:
        """The release the newest live foreman runs (leader first)."""
        live = [beat for beat in self.foremen if beat.role != "stopped" and beat.version]
        if self.leader is not None and self.leader.version:
            return self.leader.version
        return live[0].version if live else None


@dataclass(frozen=True)
class RestartReport:
    """A restart: what ran where, and the heartbeat that proved the foreman came back."""

    version: str
    hosts: list[HostResult]
    heartbeat: Heartbeat


def foreman_status(env: Environment) -> ForemanStatus:
    """Every foreman's heartbeat, read through the environment's way in."""
    settings = foreman_host(env)
    status = ForemanStatus(env.name, settings.host_names, settings.section.way_in)
    with connection(env) as conn, conn.cursor() as cur:
        cur.execute(query(__file__, "oncall.sql", "heartbeats"))
        status.foremen = [ForemanBeat(*row) for row in cur.fetchall()]
    return status


def restart_foreman_now(env: Environment, *, version: str | None = None) -> RestartReport:
    """Restart the foreman on every host at `version` (default: the release running now) and
    wait for a heartbeat newer than the restart; one error naming every host that failed."""
    if version is None:
        version = foreman_status(env).running_version
        if version is None:
            raise CommandError(
                f"{env.name}: no foreman has reported a version; give the release to start "
                "with -v VERSION (inv deploy's last version)"
            )
    hosts = foreman_host(env)
    restarted_at = database_now(env)
    results = restart_foreman(hosts, environment=env.name, version=version)
    beat = wait_for_fresh_heartbeat(
        env,
        since=restarted_at,
        timeout_seconds=DeploySection.for_environment(env).smoke_timeout_seconds,
    )
    return RestartReport(version, results, beat)
