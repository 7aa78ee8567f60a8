"""Which queue (worker pool) a job runs on: by memory tier first, then by kind.

A queue is a pool of workers with a capacity (`[executor] queues`, jobs at once) — on AWS
Batch, one job queue and compute environment of the stack each. The environment file says
where jobs go:

    [routing]
    default_queue = "spot"                    # every job, unless a rule below matches
    kind_queues = { survey = "spot" }         # job kind -> queue
    memory_queues = { large_memory = 16384 }  # queue -> smallest tier (MB) it takes

A job's queue follows its memory tier, so a retry that moves a job up a tier can move it to
the large-memory pool — and only the tiers that need that pool go there. Without a [routing]
section every job stays on the queue it was created with (`default`), as in `local`.
The foreman applies the routes in SQL (`foreman.dispatch`), to new jobs before it claims
them and to retried jobs as they go back to pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.environments import Environment
from common.errors import ConfigError
from common.settings.jobs import RoutingSection
from foreman.jobs import JOB_KINDS

UNROUTED_QUEUE = "default"  # what enqueue_job gives a job; the foreman routes it from there


@dataclass(frozen=True)
class Route:
    """Jobs of `kind` at memory tier index `tier` run on `queue`."""

    kind: str
    tier: int
    queue: str


@dataclass(frozen=True)
class QueueRouting:
    """An environment's routes, one per job kind and memory tier."""

    routes: tuple[Route, ...]

    @property
    def enabled(self) -> bool:
        """False when every job stays on the unrouted queue (nothing to do)."""
        return any(route.queue != UNROUTED_QUEUE for route in self.routes)

    @property
    def queues(self) -> list[str]:
        """Every queue some job can be routed to."""
        return sorted({route.queue for route in self.routes})

    def as_rows(self) -> list[dict[str, object]]:
        """The routes as JSON rows for the SQL that applies them."""
        return [{"kind": r.kind, "memory_tier": r.tier, "queue": r.queue} for r in self.routes]

    @classmethod
    def for_environment(cls, env: Environment) -> QueueRouting:
        """Read and check `[routing]`: every queue it names has a declared capacity."""
        settings = env.settings("routing", RoutingSection)
        where = f"{env.path}: routing"
        _check_names(where, "default_queue", [settings.default_queue])
        if not isinstance(settings.kind_queues, dict) or not isinstance(
            settings.memory_queues, dict
        ):
            raise ConfigError(f"{where}.kind_queues and memory_queues must be tables")
        unknown = sorted(set(settings.kind_queues) - set(JOB_KINDS))
        if unknown:
            raise ConfigError(
                f"{where}.kind_queues: unknown job kind {unknown[0]!r} ({', '.join(JOB_KINDS)})"
            )
        _check_names(where, "kind_queues", list(settings.kind_queues.values()))
        _check_names(where, "memory_queues", list(settings.memory_queues))
        for queue, memory in settings.memory_queues.items():
            if isinstance(memory, bool) or not isinstance(memory, int) or memory <= 0:
                raise ConfigError(f"{where}.memory_queues.{queue} must be a memory size in MB")
        tiers = env.executor.memory_tiers_mb or (2048,)
        routes = tuple(
            Route(kind, index, _queue(settings, kind, int(memory)))
            for kind in JOB_KINDS
            for index, memory in enumerate(tiers)
        )
        routing = cls(routes)
        declared = env.executor.queues
        if env.section("routing"):
            undeclared = [queue for queue in routing.queues if queue not in declared]
            if undeclared:
                raise ConfigError(
                    f"{env.path}: jobs are routed to queue {undeclared[0]!r}, which has no "
                    f"capacity in [executor] queues (declared: {', '.join(declared) or 'none'})"
                )
        return routing


def _queue(settings: RoutingSection, kind: str, memory_mb: int) -> str:
    """The memory rule with the largest threshold the tier reaches, else the kind's queue."""
    reached = [(mb, queue) for queue, mb in settings.memory_queues.items() if memory_mb >= mb]
    if reached:
        return max(reached)[1]
    return settings.kind_queues.get(kind, settings.default_queue)


def _check_names(where: str, key: str, names: list[object]) -> None:
    for name in names:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}.{key} must name queues (non-empty strings)")
