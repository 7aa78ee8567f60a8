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
request_deadline_seconds = 300       # one API request, its whole answer included, or it fails
max_value_length = 10000             # a longer value (or NUL/control characters) is quarantined
```

The token is read from the variable or the 0600 file and never from the environment file,
argv or a log line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from common.environments import Environment
from common.errors import ConfigError
from common.settings.operations import MetadataSection

SOURCES = ("redcap",)
_TOKEN = re.compile(r"^[0-9A-Fa-f]{32}$")


def metadata_settings(env: Environment) -> MetadataSection:
    """The validated `[metadata]` section; refused when sync is not set up here."""
    if not env.section("metadata"):
        raise ConfigError(f"{env.path}: no [metadata] section; metadata sync is not set up here")
    settings: MetadataSection = env.settings("metadata", MetadataSection)
    if not settings.project or not settings.redcap_url:
        raise ConfigError(
            f"{env.path}: metadata.project and metadata.redcap_url are needed for a sync"
        )
    return settings


def redcap_token(env: Environment, settings: MetadataSection) -> str:
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
