"""The console's health page: the metrics layer's snapshot and its last hour per minute, the
backups on this machine, and the deploy history where the environment keeps one."""

from __future__ import annotations

import logging
from typing import Any

from common.environments import Environment
from common.errors import RefineryError, first_line
from ops.snapshots import SnapshotSource

log = logging.getLogger(__name__)


def health_page(source: SnapshotSource, *, minutes: int = 60) -> dict[str, Any]:
    env = source.env
    return {
        "snapshot": source.take().as_dict(),
        "history": source.history(minutes=minutes),
        "backups": _backups(env),
        "deploys": _deploys(env),
    }


def _backups(env: Environment) -> dict[str, Any]:
    from ops.db.backups.catalog import list_backups
    from ops.db.backups.settings import backup_settings

    try:
        records = list_backups(backup_settings(env).directory)
    except (RefineryError, OSError) as exc:
        return {"available": False, "detail": str(exc), "backups": []}
    rows = [
        {key: value for key, value in record.as_json().items() if key != "path"}
        for record in reversed(records[-10:])
    ]
    return {"available": True, "detail": "", "backups": rows}


def _deploys(env: Environment) -> dict[str, Any]:
    """Deploys from the audit log (staging and prod keep one; local has none)."""
    if not env.section("deploy") and not env.section("terraform"):
        return {"available": False, "detail": "this environment is not deployed", "deploys": []}
    try:
        from ops.deploy.audit import AuditLog
        from ops.deploy.settings import lock_table

        records = AuditLog(lock_table(env)).history(limit=10)
    except Exception as exc:  # the audit table may be unreachable from here
        log.warning("deploy history unavailable: %s", first_line(exc))
        return {"available": False, "detail": "the deploy audit log cannot be read", "deploys": []}
    fields = ("started_at", "action", "version", "git_sha", "actor", "outcome", "error")
    return {
        "available": True,
        "detail": "",
        "deploys": [{key: record.as_dict()[key] for key in fields} for record in records],
    }
