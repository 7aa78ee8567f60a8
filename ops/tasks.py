"""The Invoke collection: `inv --list` from the repo root.

Each area lives in `ops/commands/<area>.py` as its own Collection; this module only composes
them and sets the defaults each tool reads as `c.<tool>.<key>`.
"""

from __future__ import annotations

from invoke import Collection

from ops.commands import (
    analyses,
    batch,
    bench,
    data,
    db,
    deploy,
    foreman,
    images,
    jobs,
    lake,
    local,
    logs,
    release,
    schedule,
    tf,
    users,
)

AREAS = (
    analyses, batch, bench, data, db, deploy, foreman, images, jobs, lake, local, logs,
    release, schedule, tf, users,
)  # fmt: skip

ns = Collection()
for area in AREAS:
    ns.add_collection(area.ns)
ns.add_task(deploy.rollback)
