"""The Invoke collection: `inv --list` from the repo root.

Each area lives in `ops/commands/<area>.py` as its own Collection; this module only composes
them and sets the defaults each tool reads as `c.<tool>.<key>`.
"""

from __future__ import annotations

from invoke import Collection

from ops.commands import analyses, data, db, lake, local, users

ns = Collection()
for area in (db, local, lake, analyses, data, users):
    ns.add_collection(area.ns)
