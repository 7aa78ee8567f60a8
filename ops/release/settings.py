"""The release settings, read from the protected default branch — never from a tag.

```toml
# infrastructure/release/release.toml, as committed on the remote's default branch
[release]
development_branch = "dev"     # a vX.Y.Z-dev tag must point at a commit on this branch
release_branch = "main"        # a vX.Y.Z tag must point at a commit on this branch
allowed_signers = "infrastructure/release/allowed_signers"   # git's SSH allowed-signers format
allowed_gpg_keys = "infrastructure/release/release-keys.asc" # ASCII-armoured public keys
```

A tag's own checkout could carry any settings and any keys, so a check that read them from
the working tree would let a tag vouch for itself. Everything here is read with
`git show <remote>/<trusted branch>:<path>`, where the trusted branch is the remote's default
branch (asked of the remote) unless CI names it explicitly.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ops.gitkit import show_file
from ops.release.errors import ReleaseError

SETTINGS_PATH = "infrastructure/release/release.toml"
KEYS = ("development_branch", "release_branch", "allowed_signers", "allowed_gpg_keys")


@dataclass(frozen=True)
class ReleaseSettings:
    """Where releases come from and who may sign them (as the trusted branch says)."""

    trusted_ref: str
    development_branch: str = "dev"
    release_branch: str = "main"
    allowed_signers: str = "infrastructure/release/allowed_signers"
    allowed_gpg_keys: str = "infrastructure/release/release-keys.asc"

    def branch_for(self, environment: str) -> str:
        """The branch a tag for `environment` must point into."""
        return self.development_branch if environment == "staging" else self.release_branch


def read_release_settings(repo: Path, trusted_ref: str) -> ReleaseSettings:
    """`[release]` of the settings file at `trusted_ref`, validated."""
    text = show_file(repo, trusted_ref, SETTINGS_PATH)
    if text is None:
        raise ReleaseError(f"{trusted_ref} has no {SETTINGS_PATH}; commit it there first")
    where = f"{trusted_ref}:{SETTINGS_PATH}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReleaseError(f"{where} is not valid TOML: {exc}") from None
    section = data.get("release")
    if not isinstance(section, dict):
        raise ReleaseError(f"{where} has no [release] section")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise ReleaseError(f"{where}: unknown key release.{unknown[0]} (allowed: {list(KEYS)})")
    for key, value in section.items():
        if not isinstance(value, str) or not value.strip():
            raise ReleaseError(f"{where}: release.{key} must be a non-empty string")
    return ReleaseSettings(trusted_ref=trusted_ref, **section)
