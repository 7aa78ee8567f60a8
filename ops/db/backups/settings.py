"""The `[backups]` section of an environment file: where backups live and how many to keep.

Declared in `common.settings.operations` (BackupsSection) and validated when the environment
loads; this module resolves the folder and the off-site prefix. `offsite_bucket` and
`rds_instance` may name a stack output (`terraform:backup_bucket`), resolved where they are
used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.environments import Environment
from common.settings.operations import BackupsSection


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
    """`[backups]` of `env`; the folder defaults to `<state>/backups`."""
    section = BackupsSection.for_environment(env)
    directory = Path(section.dir).expanduser() if section.dir else None
    if directory is not None and not directory.is_absolute():
        directory = env.state_dir / directory
    return BackupSettings(
        directory=directory or env.state_dir / "backups",
        retention=RetentionPolicy(
            keep_last=section.keep_last,
            keep_daily=section.keep_daily,
            keep_weekly=section.keep_weekly,
            keep_monthly=section.keep_monthly,
        ),
        offsite_bucket=section.offsite_bucket,
        offsite_prefix=section.offsite_prefix.strip("/") or f"backups/{env.name}",
        rds_instance=section.rds_instance,
    )
