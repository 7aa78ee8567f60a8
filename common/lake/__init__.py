"""The data lake: one storage interface, several backends, one layout.

Backends store opaque objects under keys. `layout` derives every key from catalog keys, so the
same catalog always maps to the same lake, whichever backend holds it. Writes are atomic: an
object is either absent or complete and verified. Callers hold a `Lake` from `open_lake` (an
environment's) or `open_lake_at` (an address, such as a mirror's) and never ask which backend
it is: every operation they need is a `Lake` method (tests/unit/lake/test_one_interface.py).
"""

from __future__ import annotations

from pathlib import Path

from common.environments import Environment
from common.errors import ConfigError
from common.lake.base import Lake, ObjectInfo
from common.lake.filesystem import FilesystemLake

__all__ = ["FilesystemLake", "Lake", "ObjectInfo", "open_lake", "open_lake_at"]


def open_lake(env: Environment) -> Lake:
    """The lake of `env`, for its configured backend."""
    if env.lake.backend == "filesystem":
        root = Path(env.lake.root)
        if not root.is_absolute():
            root = env.state_dir / root
        return FilesystemLake(root)
    if env.lake.backend == "s3":
        from common.lake.s3 import S3Lake

        return S3Lake.for_environment(env)
    raise ConfigError(f"unknown lake backend {env.lake.backend!r}")


def open_lake_at(url: str, env: Environment | None = None, **options: int) -> Lake:
    """The lake at `url` (`s3://BUCKET/PREFIX`), reached with `env`'s AWS settings;
    `options` are the backend's (`chunk_bytes`)."""
    from common.lake.s3 import S3Lake

    return S3Lake.from_url(url, env, **options)
