"""The Invoke collection: `inv --list` from the repo root.

Each area lives in `ops/commands/<area>.py` as its own Collection; this module only composes
them and sets the defaults each tool reads as `c.<tool>.<key>`.
"""

from __future__ import annotations

from invoke import Collection

from ops.commands import db, local, schedule

ns = Collection()
for area in (db, local, schedule):
    ns.add_collection(area.ns)
