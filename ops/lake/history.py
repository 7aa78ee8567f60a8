"""Every `inv lake.check` leaves its outcome in the database (`lake_checks`), where the
metrics layer reads the age of the last check and whether it found the lake in sync."""

from __future__ import annotations

import logging

from common import db
from common.environments import Environment
from common.errors import first_line
from common.metrics import record_lake_check
from ops.lake.check import CheckReport

log = logging.getLogger(__name__)


def record_check_outcome(env: Environment, report: CheckReport, *, checksums: bool) -> bool:
    """Record `report`; False (with a warning) when the database cannot take it."""
    try:
        with db.connection(env) as conn:
            record_lake_check(
                conn,
                lake=report.lake,
                in_sync=report.in_sync,
                differences=len(report.differences),
                catalog_files=report.catalog_files,
                lake_objects=report.lake_objects,
                checksums=checksums,
            )
    except Exception as exc:
        log.warning(
            "could not record the lake check in the database: %s",
            first_line(exc),
            extra={"env": env.name},
        )
        return False
    return True
