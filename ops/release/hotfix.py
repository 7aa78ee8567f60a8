"""Hot fixes: a patch release built on the last production release, not on staging's work.

`start_hotfix` verifies the last production tag exactly as a deploy would and opens
`hotfix/vX.Y.Z` at its commit; the fix is committed there and merged into the release
branch through review. `tag_hotfix` then signs the release branch's tip as that version,
after checking that it still builds on the last production release, and verifies the tag
through the same path CI uses before anything deploys it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ops.gitkit import git, is_ancestor, resolve, tags
from ops.release.errors import ReleaseError
from ops.release.numbering import create_verified_tag, hotfix_version, last_production_release
from ops.release.verify import VerifiedTag, trusted_settings, verify_tag


@dataclass(frozen=True)
class HotfixPlan:
    """What a hot fix starts from and what it will be called."""

    base_tag: str
    base_commit: str
    version: str
    branch: str
    created: bool


def plan_hotfix(repo: Path, *, remote: str, trusted_branch: str | None, start: bool) -> HotfixPlan:
    """The hot fix after the last production release; with `start`, its branch is created."""
    existing = tags(repo)
    base = last_production_release(existing).tag
    verified = verify_tag(repo, base, remote=remote, trusted_branch=trusted_branch)
    version = hotfix_version(existing)
    branch = f"hotfix/{version}"
    if start:
        if resolve(repo, f"refs/heads/{branch}") is not None:
            raise ReleaseError(f"branch {branch} exists already; switch to it (git switch)")
        git(repo, "branch", branch, verified.commit)
    return HotfixPlan(base, verified.commit, version, branch, start)


def tag_hotfix(
    repo: Path,
    *,
    remote: str,
    trusted_branch: str | None,
    revision: str | None,
    push: bool,
) -> VerifiedTag:
    """Sign the hot-fix version on `revision` (default: the release branch's tip)."""
    existing = tags(repo)
    base = last_production_release(existing).tag
    base_commit = verify_tag(repo, base, remote=remote, trusted_branch=trusted_branch).commit
    settings = trusted_settings(repo, remote=remote, trusted_branch=trusted_branch, fetch=False)
    target = revision or f"refs/remotes/{remote}/{settings.release_branch}"
    commit = resolve(repo, f"{target}^{{commit}}")
    if commit is None:
        raise ReleaseError(f"{target!r} names no commit here")
    if not is_ancestor(repo, base_commit, commit):
        raise ReleaseError(
            f"{commit[:12]} does not build on {base} ({base_commit[:12]}); a hot fix must"
        )
    version = hotfix_version(existing)
    return create_verified_tag(
        repo, version, commit, remote=remote, trusted_branch=trusted_branch, push=push
    )
