"""The `[refresh]` section of the environment a refresh replaces (staging).

```toml
[refresh]
rules = "infrastructure/anonymise.toml"   # personal columns and their methods
reuse_backup_hours = 24       # a verified source backup this recent is reused, not retaken
smoke_timeout_seconds = 600   # how long the smoke job may take
keep_old = false              # keep staging's previous database after the swap
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.environments import REPO_ROOT, Environment
from common.errors import ConfigError


@dataclass(frozen=True)
class RefreshSettings:
    rules: Path
    reuse_backup_hours: float = 24
    smoke_timeout_seconds: float = 600
    keep_old: bool = False


def refresh_settings(env: Environment) -> RefreshSettings:
    section = env.section("refresh")
    allowed = ("rules", "reuse_backup_hours", "smoke_timeout_seconds", "keep_old")
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise ConfigError(f"{env.path}: unknown key refresh.{unknown[0]} (allowed: {allowed})")
    rules = section.get("rules", "infrastructure/anonymise.toml")
    if not isinstance(rules, str) or not rules:
        raise ConfigError(f"{env.path}: refresh.rules must be a path")
    path = Path(rules).expanduser()
    numbers = {}
    for key, default in (("reuse_backup_hours", 24), ("smoke_timeout_seconds", 600)):
        value = section.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{env.path}: refresh.{key} must be a positive number")
        numbers[key] = float(value)
    keep_old = section.get("keep_old", False)
    if not isinstance(keep_old, bool):
        raise ConfigError(f"{env.path}: refresh.keep_old must be true or false")
    return RefreshSettings(
        rules=path if path.is_absolute() else REPO_ROOT / path, keep_old=keep_old, **numbers
    )
