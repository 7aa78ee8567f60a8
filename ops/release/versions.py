"""Which version may go to which environment, and the version a checkout stands for.

Release tags decide where code may run: `vX.Y.Z-dev` is a staging build and `vX.Y.Z` is a
production release. Holding the rule in one place means CI (`inv release.resolve TAG`) and
engineers (`inv deploy -e ENV`) can never disagree about it.
"""

from __future__ import annotations

import re
from pathlib import Path

from ops.gitkit import GitError, git
from ops.gitkit import tags as git_tags
from ops.release.errors import ReleaseError, VersionRuleError

STAGING_PATTERN = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)-dev$", re.ASCII)
PROD_PATTERN = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$", re.ASCII)
RULE = "vX.Y.Z-dev deploys only to staging, vX.Y.Z only to prod"
DEPLOYABLE_ENVIRONMENTS = ("staging", "prod")
# The sandbox rehearses staging's releases on one machine, so it takes staging's versions.
TAKES_VERSIONS_OF = {"sandbox": "staging"}


def environment_for_version(version: str) -> str:
    """`staging` or `prod` for a release tag; VersionRuleError for anything else."""
    if STAGING_PATTERN.match(version):
        return "staging"
    if PROD_PATTERN.match(version):
        return "prod"
    raise VersionRuleError(f"{version!r} is not a release version ({RULE})")


def check_version_for_environment(version: str, environment: str) -> None:
    """Refuse `version` unless the rule sends it to `environment`."""
    target = environment_for_version(version)
    if target != TAKES_VERSIONS_OF.get(environment, environment):
        raise VersionRuleError(
            f"version {version} deploys only to {target}, not {environment} ({RULE})"
        )


def git_sha(repo: Path) -> str:
    """The full commit id of HEAD."""
    try:
        return git(repo, "rev-parse", "HEAD").stdout.strip()
    except GitError:
        raise ReleaseError(f"{repo} is not a git checkout; deploy from the repository") from None


def version_at_head(repo: Path, environment: str) -> str:
    """The release tag at HEAD that may go to `environment` (the default `-v`)."""
    tags = git_tags(repo, points_at="HEAD")
    example = "v1.2.3" if environment == "prod" else "v1.2.3-dev"
    if not tags:
        raise ReleaseError(
            f"HEAD has no release tag; tag it (git tag {example}) or pass the version with "
            f"-v {example} ({RULE})"
        )
    usable = [tag for tag in tags if _goes_to(tag, environment)]
    if len(usable) == 1:
        return usable[0]
    if not usable:
        raise VersionRuleError(
            f"no tag at HEAD ({', '.join(tags)}) may deploy to {environment} ({RULE}); "
            f"pass -v {example}"
        )
    raise ReleaseError(
        f"several tags at HEAD may deploy to {environment} ({', '.join(usable)}); choose with -v"
    )


def _goes_to(tag: str, environment: str) -> bool:
    try:
        return environment_for_version(tag) == TAKES_VERSIONS_OF.get(environment, environment)
    except VersionRuleError:
        return False
