"""The data lake: one storage interface, several backends, one layout.

Backends store opaque objects under keys. `layout` derives every key from catalog keys, so the
same catalog always maps to the same lake, whichever backend holds it. Writes are atomic: an
object is either absent or complete and verified. Callers hold a `Lake` from `open_lake` (an
environment's) or `open_lake_at` (an address, such as a mirror's) and never ask which backend
it is: every operation they need is a `Lake` method (tests/unit/lake/test_one_interface.py).
"""

from __future__ import annotations

from common.lake.base import Lake, ObjectInfo
from common.lake.filesystem import FilesystemLake
from common.lake.opening import open_lake, open_lake_at

__all__ = ["FilesystemLake", "Lake", "ObjectInfo", "open_lake", "open_lake_at"]
