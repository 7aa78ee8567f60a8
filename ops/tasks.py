"""The Invoke collection: `inv --list` from the repo root.

Each area lives in `ops/commands/<area>.py` as its own Collection; this module only composes
them and sets the defaults each tool reads as `c.<tool>.<key>`.
"""

from __future__ import annotations

from invoke import Collection

from ops.commands import (
    batch,
    bench,
    db,
    deploy,
    foreman,
    images,
    jobs,
    local,
    logs,
    release,
    schedule,
    tf,
)

ns = Collection()
for area in (batch, bench, db, deploy, foreman, images, jobs, local, logs, release, schedule, tf):
    ns.add_collection(area.ns)
ns.add_task(deploy.rollback)
