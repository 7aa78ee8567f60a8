"""Tell the metrics layer about the newest backup: the folder's catalog is the truth, and a
copy of its newest entry goes into the database (`backup_records`) where the foreman's
`/metrics`, `inv jobs.top` and the console read it.

Written after every command that changes what the newest backup is or whether it is proved
(backup, verify, prune, restore, the scheduled run). After a restore the database is the
backup's, older than the folder: publishing again puts the record right. A database that
cannot be reached is a warning: the backup itself is what matters.
"""

from __future__ import annotations

import logging

from common import db
from common.environments import Environment
from common.errors import first_line
from common.metrics import record_backup_state
from ops.db.backups.catalog import list_backups
from ops.db.backups.settings import backup_settings

log = logging.getLogger(__name__)


def publish_newest_backup(env: Environment) -> str | None:
    """Record the newest backup of `env` in its database; returns its name (None: no backup)."""
    backups = list_backups(backup_settings(env).directory)
    newest = backups[-1] if backups else None
    state = (
        {
            "name": newest.name,
            "kind": newest.kind,
            "created_at": newest.created_at,
            "verified": newest.verified,
            "verified_at": newest.verified_at or None,
        }
        if newest
        else None
    )
    try:
        with db.connection(env) as conn:
            record_backup_state(conn, env.name, state)
    except Exception as exc:
        log.warning(
            "could not record the newest backup in the database: %s",
            first_line(exc),
            extra={"env": env.name},
        )
    return newest.name if newest else None
