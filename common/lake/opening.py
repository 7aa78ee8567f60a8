"""Opening a lake: an environment's, for its configured backend, or one at an address."""

from __future__ import annotations

from pathlib import Path

from common.environments import Environment
from common.errors import ConfigError
from common.lake.base import Lake
from common.lake.filesystem import FilesystemLake


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
