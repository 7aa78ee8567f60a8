"""`infrastructure/upstreams.toml`: which upstream repositories this one follows, into which
local branch each merges, and how an upgrade is tested and published.

```toml
[upgrade]
test_command = "./scripts/test.sh tests/unit"  # run in the checkout; green means exit 0
test_timeout_seconds = 3600
push_remote = "origin"        # where a green upgrade branch is pushed
migrations_dir = "foreman/sql/migrations"      # what `status` lists as migrations
dependency_files = ["pyproject.toml"]          # what `status` compares as dependencies

[[upstreams]]
name = "refinery"             # a short name: letters, digits, - and _
url = "https://example.org/refinery.git"      # any URL or path git can fetch
branch = "main"               # the upstream's branch
local_branch = "main"         # the branch of this repository it merges into

[template]
answers_file = ".copier-answers.yml"           # copier's record of the template and commit
```

The file belongs to the repository it describes, so it is read from that checkout; a typo is
a one-line error naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.upstream.errors import UpstreamError

SETTINGS_PATH = "infrastructure/upstreams.toml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$")
_UPGRADE_KEYS = {
    "test_command": str,
    "test_timeout_seconds": int,
    "push_remote": str,
    "migrations_dir": str,
    "dependency_files": list,
}
_UPSTREAM_KEYS = ("name", "url", "branch", "local_branch")
# A branch as it goes into a refspec: never an option, never a second refspec (`a:b`).
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*(?<![./])", re.ASCII)
_TEMPLATE_KEYS = ("answers_file",)


@dataclass(frozen=True)
class Upstream:
    """One upstream repository and the local branch it merges into."""

    name: str
    url: str
    branch: str
    local_branch: str

    @property
    def fetched_ref(self) -> str:
        """Where its branch is fetched to: a ref namespace of its own, never a local branch."""
        return f"refs/upstreams/{self.name}/{self.branch}"


@dataclass(frozen=True)
class UpstreamSettings:
    """The whole file, validated."""

    path: Path
    test_command: str
    test_timeout_seconds: int = 3600
    push_remote: str = "origin"
    migrations_dir: str = "foreman/sql/migrations"
    dependency_files: tuple[str, ...] = ("pyproject.toml",)
    upstreams: tuple[Upstream, ...] = ()
    answers_file: str = ".copier-answers.yml"

    def upstream(self, name: str | None) -> Upstream:
        """The upstream called `name`, or the only one when `name` is empty."""
        names = ", ".join(u.name for u in self.upstreams) or "none"
        if not name:
            if len(self.upstreams) == 1:
                return self.upstreams[0]
            if not self.upstreams:
                raise UpstreamError(f"{self.path} declares no [[upstreams]]; add one first")
            raise UpstreamError(f"several upstreams are declared ({names}); choose with --name")
        for upstream in self.upstreams:
            if upstream.name == name:
                return upstream
        raise UpstreamError(f"no upstream named {name!r} in {self.path} (declared: {names})")


def read_upstream_settings(repo: Path, path: Path | None = None) -> UpstreamSettings:
    """Read and validate the settings file of the checkout `repo`."""
    path = path or repo / SETTINGS_PATH
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UpstreamError(f"{path} does not exist; declare the upstreams there") from None
    except tomllib.TOMLDecodeError as exc:
        raise UpstreamError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"upgrade", "upstreams", "template"})
    if unknown:
        raise UpstreamError(f"{path}: unknown section [{unknown[0]}]")
    upgrade = _table(path, data, "upgrade")
    _check_keys(path, "upgrade", upgrade, _UPGRADE_KEYS)
    for key, kind in _UPGRADE_KEYS.items():
        if key in upgrade and (
            not isinstance(upgrade[key], kind) or isinstance(upgrade[key], bool)
        ):
            raise UpstreamError(f"{path}: upgrade.{key} must be {_KIND_WORDS[kind]}")
    if not str(upgrade.get("test_command", "")).strip():
        raise UpstreamError(
            f"{path}: upgrade.test_command is required (the command that must pass)"
        )
    files = upgrade.get("dependency_files", ["pyproject.toml"])
    if not all(isinstance(item, str) and item for item in files):
        raise UpstreamError(f"{path}: upgrade.dependency_files must be a list of paths")
    if upgrade.get("test_timeout_seconds", 1) <= 0:
        raise UpstreamError(f"{path}: upgrade.test_timeout_seconds must be positive")
    template = _table(path, data, "template")
    _check_keys(path, "template", template, dict.fromkeys(_TEMPLATE_KEYS, str))
    return UpstreamSettings(
        path=path,
        test_command=upgrade["test_command"],
        test_timeout_seconds=upgrade.get("test_timeout_seconds", 3600),
        push_remote=upgrade.get("push_remote", "origin"),
        migrations_dir=upgrade.get("migrations_dir", "foreman/sql/migrations").strip("/"),
        dependency_files=tuple(files),
        upstreams=_upstreams(path, data.get("upstreams", [])),
        answers_file=str(template.get("answers_file", ".copier-answers.yml")),
    )


_KIND_WORDS = {str: "a string", int: "a whole number", list: "a list"}


def _table(path: Path, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise UpstreamError(f"{path}: [{name}] must be a table")
    return value


def _check_keys(path: Path, section: str, values: dict[str, Any], allowed: dict) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise UpstreamError(
            f"{path}: unknown key {section}.{unknown[0]} (allowed: {sorted(allowed)})"
        )


def _upstreams(path: Path, entries: Any) -> tuple[Upstream, ...]:
    if not isinstance(entries, list):
        raise UpstreamError(f"{path}: upstreams must be [[upstreams]] tables")
    seen: set[str] = set()
    result = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: upstreams #{number}"
        if not isinstance(entry, dict):
            raise UpstreamError(f"{where} must be a table")
        _check_keys(path, "upstreams", entry, dict.fromkeys(_UPSTREAM_KEYS, str))
        for key in _UPSTREAM_KEYS:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise UpstreamError(f"{where}: {key} is required (a non-empty string)")
        if not _NAME.match(entry["name"]):
            raise UpstreamError(
                f"{where}: name {entry['name']!r} may hold letters, digits, - and _"
            )
        for key in ("branch", "local_branch"):
            if not _BRANCH.fullmatch(entry[key]) or ".." in entry[key]:
                raise UpstreamError(
                    f"{where}: {key} {entry[key]!r} is not a branch name (letters, digits, "
                    "., _, - and /, not starting with - or /)"
                )
        if entry["name"] in seen:
            raise UpstreamError(f"{where}: the name {entry['name']!r} is used twice")
        seen.add(entry["name"])
        result.append(Upstream(**{key: entry[key] for key in _UPSTREAM_KEYS}))
    return tuple(result)
