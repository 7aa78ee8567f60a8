"""`upstream.status`: for each upstream, how far the local branch is behind it and what those
commits would bring — migrations to apply and dependencies that change.

Only what upstream changed since the merge base counts (a three-dot comparison), so local
changes are not reported as upstream's.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ops.gitkit import fetch_commit, git, resolve
from ops.upstream.errors import UpstreamError
from ops.upstream.settings import Upstream, UpstreamSettings

_STATUS_WORDS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied"}


@dataclass
class UpstreamStatus:
    """One upstream compared with its local branch."""

    name: str
    url: str
    branch: str
    local_branch: str
    upstream_commit: str
    local_commit: str
    merge_base: str
    behind: int
    ahead: int
    commits: list[dict[str, str]] = field(default_factory=list)
    migrations: list[dict[str, str]] = field(default_factory=list)
    dependencies: list[dict[str, str]] = field(default_factory=list)
    dependency_diff: str = ""


def upstream_status(repo: Path, settings: UpstreamSettings, upstream: Upstream) -> UpstreamStatus:
    """Fetch `upstream` and compare it with its local branch."""
    local = resolve(repo, f"refs/heads/{upstream.local_branch}")
    if local is None:
        raise UpstreamError(
            f"upstream {upstream.name} merges into {upstream.local_branch}, which is not a "
            "branch of this repository"
        )
    theirs = fetch_commit(repo, upstream.url, upstream.branch, upstream.fetched_ref)
    base_result = git(repo, "merge-base", local, theirs, check=False)
    base = base_result.stdout.strip()
    if base_result.returncode != 0 or not base:
        raise UpstreamError(
            f"{upstream.local_branch} and {upstream.name}/{upstream.branch} share no history; "
            "check the url and branch in the upstreams file"
        )
    counts = git(repo, "rev-list", "--left-right", "--count", f"{local}...{theirs}").stdout.split()
    log = git(repo, "log", "--format=%H%x09%s", f"{local}..{theirs}").stdout
    commits = [
        {"commit": sha, "subject": subject}
        for sha, _, subject in (line.partition("\t") for line in log.splitlines() if line)
    ]
    files = list(settings.dependency_files)
    return UpstreamStatus(
        name=upstream.name,
        url=upstream.url,
        branch=upstream.branch,
        local_branch=upstream.local_branch,
        upstream_commit=theirs,
        local_commit=local,
        merge_base=base,
        ahead=int(counts[0]),
        behind=int(counts[1]),
        commits=commits,
        migrations=_migrations(repo, base, theirs, settings.migrations_dir),
        dependencies=[
            change for path in files for change in _dependency_changes(repo, base, theirs, path)
        ],
        dependency_diff=git(repo, "diff", base, theirs, "--", *files).stdout,
    )


def _migrations(repo: Path, base: str, theirs: str, directory: str) -> list[dict[str, str]]:
    output = git(repo, "diff", "--name-status", "--no-renames", base, theirs, "--",
                 directory).stdout  # fmt: skip
    changes = []
    for line in output.splitlines():
        status, _, path = line.partition("\t")
        changes.append({"change": _STATUS_WORDS.get(status[:1], status), "path": path})
    return changes


def _dependency_changes(repo: Path, base: str, theirs: str, path: str) -> list[dict[str, str]]:
    """Requirements added, removed or changed in the file at `path` (pyproject.toml format)."""
    before = _requirements(repo, base, path)
    after = _requirements(repo, theirs, path)
    changes = []
    for key in sorted(set(before) | set(after)):
        group, name = key
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        changes.append({
            "file": path, "group": group, "name": name, "change": change,
            "before": old or "", "after": new or "",
        })  # fmt: skip
    return changes


def _requirements(repo: Path, commit: str, path: str) -> dict[tuple[str, str], str]:
    """{(group, canonical name): requirement} from a pyproject.toml at `commit`."""
    shown = git(repo, "show", f"{commit}:{path}", check=False)
    if shown.returncode != 0:
        return {}
    try:
        data = tomllib.loads(shown.stdout)
    except tomllib.TOMLDecodeError:
        return {(path, "(unreadable)"): commit[:12]}
    project: dict[str, Any] = data.get("project", {})
    groups: dict[str, list[str]] = {
        "dependencies": project.get("dependencies", []),
        "build-system": data.get("build-system", {}).get("requires", []),
        **{
            f"optional:{extra}": items
            for extra, items in project.get("optional-dependencies", {}).items()
        },
    }
    found: dict[tuple[str, str], str] = {}
    for group, items in groups.items():
        for item in items:
            name: str
            try:
                name = canonicalize_name(Requirement(item).name)
            except InvalidRequirement:
                name = item
            found[(group, name)] = item
    return found
