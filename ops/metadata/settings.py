"""The `[metadata]` section of an environment file, validated.

```toml
[metadata]
project = "CRC-2026"                 # the catalog project the records describe
redcap_url = "https://redcap.example.org/api/"
token_env = "REFINERY_REDCAP_TOKEN"  # the API token: this variable, else token_file (0600)
token_file = ""
timezone = "UTC"                     # REDCap reads times in its own zone
batch_size = 200                     # records per export request
overlap_minutes = 60                 # re-read this much before the last watermark
```

The token is read from the variable or the 0600 file and never from the environment file,
argv or a log line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from common.environments import Environment
from common.errors import ConfigError

SOURCES = ("redcap",)
_TOKEN = re.compile(r"^[0-9A-Fa-f]{32}$")


@dataclass(frozen=True)
class MetadataSettings:
    project: str = ""
    redcap_url: str = ""
    token_env: str = "REFINERY_REDCAP_TOKEN"
    token_file: str = ""
    timezone: str = "UTC"
    batch_size: int = 200
    overlap_minutes: int = 60


def metadata_settings(env: Environment) -> MetadataSettings:
    if not env.section("metadata"):
        raise ConfigError(f"{env.path}: no [metadata] section; metadata sync is not set up here")
    settings: MetadataSettings = env.settings("metadata", MetadataSettings)
    if not settings.project:
        raise ConfigError(f"{env.path}: metadata.project must name the catalog project")
    if not settings.redcap_url.startswith(("http://", "https://")) or not (
        settings.redcap_url.endswith("/api/")
    ):
        raise ConfigError(f"{env.path}: metadata.redcap_url must be an http(s) URL ending /api/")
    if settings.batch_size < 1 or settings.overlap_minutes < 0:
        raise ConfigError(f"{env.path}: metadata.batch_size >= 1 and overlap_minutes >= 0")
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{env.path}: metadata.timezone {settings.timezone!r} is unknown"
        ) from None
    return settings


def redcap_token(env: Environment, settings: MetadataSettings) -> str:
    """The API token from its variable or its 0600 file; the message never holds it."""
    token = os.environ.get(settings.token_env, "").strip()
    if not token and settings.token_file:
        path = Path(settings.token_file).expanduser()
        if not path.is_file():
            raise ConfigError(f"REDCap token file {path} does not exist")
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"REDCap token file {path} must be 0600 (chmod 600 {path})")
        token = path.read_text().strip()
    if not token:
        raise ConfigError(
            f"no REDCap API token for {env.name}: set {settings.token_env} or metadata.token_file"
        )
    if not _TOKEN.match(token):
        raise ConfigError("the REDCap API token must be 32 hexadecimal characters")
    return token
