"""A verified database backup younger than a limit, before anything destructive runs.

The backups area provides `ops.db.backups.latest_verified_backup(env)` and
`take_verified_backup(env, note)`; they are used when present. Until then (or when a caller
passes its own), `pg_dump_backup` is a real provider: a custom-format `pg_dump` into the
environment's state folder, verified by `pg_restore --list` reading it back.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.db import libpq_environment
from common.embedded import postgres_bin
from common.environments import Environment
from common.errors import CommandError
from common.shell import run_command


@dataclass(frozen=True)
class GuardBackup:
    path: Path
    created_at: datetime


BackupProvider = Callable[[Environment, str], object]


def ensure_recent_backup(
    env: Environment,
    max_age: timedelta,
    *,
    note: str,
    provider: BackupProvider | None = None,
) -> str:
    """Describe a verified backup younger than `max_age`, taking one first when needed."""
    if provider is not None:
        return _describe(provider(env, note))
    try:
        backups = importlib.import_module("ops.db.backups")
    except ModuleNotFoundError:
        backups = None
    if backups is not None and hasattr(backups, "latest_verified_backup"):
        latest = backups.latest_verified_backup(env)
        if latest is not None and datetime.now(UTC) - latest.created_at < max_age:
            return _describe(latest)
        return _describe(backups.take_verified_backup(env, note))
    return _describe(recent_guard_backup(env, note, max_age=max_age))


def recent_guard_backup(
    env: Environment, note: str, *, max_age: timedelta = timedelta(hours=1)
) -> GuardBackup:
    """The newest verified `pg_dump_backup` younger than `max_age`, or a new one."""
    folder = env.state_dir / "guard-backups"
    for verified in sorted(folder.glob("*.dump.verified"), reverse=True):
        created = datetime.fromisoformat(verified.read_text().strip())
        dump = verified.with_suffix("")
        if dump.is_file() and datetime.now(UTC) - created < max_age:
            return GuardBackup(dump, created)
        break
    return pg_dump_backup(env, note)


def pg_dump_backup(env: Environment, note: str) -> GuardBackup:
    """pg_dump -Fc to the state folder, then prove it readable with pg_restore --list."""
    folder = env.state_dir / "guard-backups"
    folder.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    path = folder / f"{created.strftime('%Y%m%dT%H%M%S%fZ')}.dump"
    libpq = libpq_environment(env)
    run_command([postgres_bin("pg_dump"), "-Fc", "-f", path], env=libpq, timeout=3600)
    listing = run_command([postgres_bin("pg_restore"), "--list", path], timeout=600)
    if "TABLE DATA public files" not in listing.stdout:
        raise CommandError(f"backup {path} does not verify (no files table data); not deleting")
    (folder / f"{path.name}.note").write_text(note + "\n")
    (folder / f"{path.name}.verified").write_text(created.isoformat() + "\n")
    return GuardBackup(path, created)


def _describe(backup: object) -> str:
    created = getattr(backup, "created_at", None)
    label = getattr(backup, "path", None) or getattr(backup, "id", None) or backup
    return f"{label} ({created:%Y-%m-%d %H:%M:%S} UTC)" if created else str(label)
