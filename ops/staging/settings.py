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
from common.settings.operations import RefreshSection


@dataclass(frozen=True)
class RefreshSettings:
    rules: Path
    reuse_backup_hours: float = 24
    smoke_timeout_seconds: float = 600
    keep_old: bool = False


def refresh_settings(env: Environment) -> RefreshSettings:
    """`[refresh]` (validated at load), its rules file resolved from the repository root."""
    section = RefreshSection.for_environment(env)
    path = Path(section.rules).expanduser()
    return RefreshSettings(
        rules=path if path.is_absolute() else REPO_ROOT / path,
        reuse_backup_hours=float(section.reuse_backup_hours),
        smoke_timeout_seconds=float(section.smoke_timeout_seconds),
        keep_old=section.keep_old,
    )
