"""The next release version, from the tags that exist, and the signed tag that makes it.

Two counters share one major.minor line: `vX.Y.Z-dev` counts staging builds and `vX.Y.Z`
counts production releases. The line is the highest major.minor any release tag carries, so
staging and production never drift onto different lines; `--bump minor|major` starts a new
line for both. A hot fix is the patch after the last production release, whatever line
staging has moved to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.errors import RefineryError
from common.shell import Value
from ops.gitkit import git, resolve
from ops.release.errors import ReleaseError
from ops.release.verify import VerifiedTag, verify_tag
from ops.release.versions import DEPLOYABLE_ENVIRONMENTS, PROD_PATTERN, STAGING_PATTERN

BUMPS = ("patch", "minor", "major")
FIRST_LINE = (0, 1)


@dataclass(frozen=True, order=True)
class ReleaseVersion:
    """A parsed release tag; sorts by number, a staging build before its release."""

    major: int
    minor: int
    patch: int
    production: bool

    @property
    def tag(self) -> str:
        suffix = "" if self.production else "-dev"
        return f"v{self.major}.{self.minor}.{self.patch}{suffix}"


def parse_release_tag(tag: str) -> ReleaseVersion | None:
    """The version a release tag names, or None for any other tag."""
    for pattern, production in ((PROD_PATTERN, True), (STAGING_PATTERN, False)):
        match = pattern.match(tag)
        if match:
            major, minor, patch = (int(part) for part in match.groups())
            return ReleaseVersion(major, minor, patch, production)
    return None


def next_version(existing: list[str], environment: str, bump: str = "patch") -> str:
    """The tag the next `environment` release gets, given the tags that exist."""
    if environment not in DEPLOYABLE_ENVIRONMENTS:
        raise ReleaseError(
            f"releases go to {' or '.join(DEPLOYABLE_ENVIRONMENTS)}, not {environment!r}"
        )
    if bump not in BUMPS:
        raise ReleaseError(f"--bump must be one of {', '.join(BUMPS)}, not {bump!r}")
    production = environment == "prod"
    versions = [v for v in (parse_release_tag(t) for t in existing) if v is not None]
    if not versions:
        return ReleaseVersion(*FIRST_LINE, 0, production).tag
    major, minor = max((v.major, v.minor) for v in versions)
    if bump == "major":
        return ReleaseVersion(major + 1, 0, 0, production).tag
    if bump == "minor":
        return ReleaseVersion(major, minor + 1, 0, production).tag
    patches = [
        v.patch
        for v in versions
        if (v.major, v.minor) == (major, minor) and v.production == production
    ]
    return ReleaseVersion(major, minor, max(patches) + 1 if patches else 0, production).tag


def last_production_release(existing: list[str]) -> ReleaseVersion:
    """The highest `vX.Y.Z` tag; a ReleaseError when production has never been released."""
    releases = [v for v in (parse_release_tag(t) for t in existing) if v and v.production]
    if not releases:
        raise ReleaseError("no production release tag (vX.Y.Z) exists yet; nothing to hot-fix")
    return max(releases)


def hotfix_version(existing: list[str]) -> str:
    """The patch release after the last production release."""
    last = last_production_release(existing)
    return ReleaseVersion(last.major, last.minor, last.patch + 1, True).tag


def create_verified_tag(
    repo: Path,
    version: str,
    revision: str,
    *,
    remote: str,
    trusted_branch: str | None,
    push: bool,
) -> VerifiedTag:
    """Sign `version` on `revision` with the signing key git is configured with, verify it
    exactly as CI will, and push it only when asked; a refused tag is deleted again."""
    commit = resolve(repo, f"{revision}^{{commit}}")
    if commit is None:
        raise ReleaseError(f"{revision!r} names no commit here")
    if resolve(repo, f"refs/tags/{version}") is not None:
        raise ReleaseError(f"tag {version} exists already; fetch tags and ask again")
    signed = git(
        repo, "tag", "-s", "-m", f"Release {version}", Value(version), Value(commit), check=False
    )
    if signed.returncode != 0:
        lines = (signed.stderr or signed.stdout).strip().splitlines()
        raise ReleaseError(
            f"cannot sign tag {version} (set user.signingkey, and gpg.format=ssh for an SSH "
            f"key): {lines[-1] if lines else 'git tag -s failed'}"
        )
    try:
        verified = verify_tag(repo, version, remote=remote, trusted_branch=trusted_branch)
    except RefineryError:
        git(repo, "tag", "-d", version)
        raise
    if push:
        git(repo, "push", "--quiet", Value(remote), f"refs/tags/{version}")
    return verified
