"""The `[backups]` section of an environment file: where backups live and how many to keep.

Validated here because the environment loader leaves free-form sections to the area that owns
them; a typo is a one-line error naming the key. `offsite_bucket` and `rds_instance` may name
a stack output (`terraform:backup_bucket`), resolved where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.environments import Environment
from common.errors import ConfigError

_INTEGER_KEYS = ("keep_last", "keep_daily", "keep_weekly", "keep_monthly")
_TEXT_KEYS = ("dir", "offsite_bucket", "offsite_prefix", "rds_instance")


@dataclass(frozen=True)
class RetentionPolicy:
    """How many backups survive pruning: the last N plus one per day/week/month."""

    keep_last: int = 3
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 3


@dataclass(frozen=True)
class BackupSettings:
    """Where an environment's backups live, locally and off-site, and how many to keep."""

    directory: Path
    retention: RetentionPolicy
    offsite_bucket: str = ""
    offsite_prefix: str = ""
    rds_instance: str = ""


def backup_settings(env: Environment) -> BackupSettings:
    """Read and validate `[backups]`; the folder defaults to `<state>/backups`."""
    section = env.section("backups")
    unknown = sorted(set(section) - set(_INTEGER_KEYS) - set(_TEXT_KEYS))
    if unknown:
        raise ConfigError(f"{env.path}: unknown key backups.{unknown[0]}")
    counts: dict[str, int] = {}
    for key in _INTEGER_KEYS:
        if key in section:
            value = section[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{env.path}: backups.{key} must be a whole number >= 0")
            counts[key] = value
    for key in _TEXT_KEYS:
        if key in section and not isinstance(section[key], str):
            raise ConfigError(f"{env.path}: backups.{key} must be a string")
    directory = Path(section["dir"]).expanduser() if section.get("dir") else None
    if directory is not None and not directory.is_absolute():
        directory = env.state_dir / directory
    prefix = str(section.get("offsite_prefix", "")).strip("/")
    return BackupSettings(
        directory=directory or env.state_dir / "backups",
        retention=RetentionPolicy(**counts),
        offsite_bucket=str(section.get("offsite_bucket", "")),
        offsite_prefix=prefix or f"backups/{env.name}",
        rds_instance=str(section.get("rds_instance", "")),
    )
