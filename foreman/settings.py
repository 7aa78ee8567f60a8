"""The foreman's timing and batching knobs, from the environment file's `[foreman]` section."""

from __future__ import annotations

from dataclasses import dataclass, fields

from common.environments import Environment
from common.errors import ConfigError


@dataclass(frozen=True)
class ForemanSettings:
    """How often the foreman looks, and how long it trusts a silent worker.

    `stale_after_seconds` must be several times `worker_heartbeat_seconds`, or live workers
    are given up on; `submit_grace_seconds` is how long a claimed job may wait for its
    executor id before the claim is presumed lost with a crashed foreman. An errored job waits
    `retry_delay_seconds` × 2^(attempts so far - 1), at most `retry_delay_max_seconds`, before
    it is dispatched again: a dependency that is down (the ENA portal, S3, a full disk) gets
    time to come back instead of every attempt being spent within a minute. 0 retries at once.

    The leader writes the metrics' per-minute history every `rollup_seconds`; every foreman
    serves `/metrics` on `metrics_address` (HOST:PORT, loopback by default; empty: off). With
    `cloudwatch_namespace` set, the leader also publishes the figures to CloudWatch.
    """

    poll_seconds: float = 2.0
    reconcile_seconds: float = 10.0
    heartbeat_seconds: float = 5.0
    takeover_seconds: float = 1.0
    stale_after_seconds: float = 120.0
    submit_grace_seconds: float = 60.0
    worker_heartbeat_seconds: float = 15.0
    batch_size: int = 500
    retry_delay_seconds: float = 10.0
    retry_delay_max_seconds: float = 600.0
    rollup_seconds: float = 60.0
    metrics_address: str = "127.0.0.1:9464"
    cloudwatch_namespace: str = ""

    # May be 0; every other knob must be positive.
    _MAY_BE_ZERO = frozenset({"retry_delay_seconds", "retry_delay_max_seconds"})

    @classmethod
    def for_environment(cls, env: Environment) -> ForemanSettings:
        settings = env.settings("foreman", cls)
        for field in fields(cls):
            value = getattr(settings, field.name)
            if isinstance(value, str):
                continue
            if field.name in cls._MAY_BE_ZERO and value < 0:
                raise ConfigError(f"{env.path}: foreman.{field.name} must be 0 or more")
            if field.name not in cls._MAY_BE_ZERO and value <= 0:
                raise ConfigError(f"{env.path}: foreman.{field.name} must be a positive number")
        if settings.stale_after_seconds < 2 * settings.worker_heartbeat_seconds:
            raise ConfigError(
                f"{env.path}: foreman.stale_after_seconds must be at least twice "
                "foreman.worker_heartbeat_seconds"
            )
        try:
            parse_address(settings.metrics_address)
        except ValueError as exc:
            raise ConfigError(f"{env.path}: foreman.metrics_address {exc}") from None
        return settings


def parse_address(value: str) -> tuple[str, int] | None:
    """`host:port` (IPv6 as `[::1]:port`), or None when empty (turned off)."""
    text = value.strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be HOST:PORT (such as 127.0.0.1:9464), not {value!r}")
    return host, int(port)
