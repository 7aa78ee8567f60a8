"""`inv release.*`: release tags — which environment, whether to trust them, the next one."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection, Context

from ops.release.numbering import BUMPS
from ops.release.versions import DEPLOYABLE_ENVIRONMENTS, RULE
from ops.taskkit import JSON_HELP, print_json, task

if TYPE_CHECKING:
    from ops.release.verify import VerifiedTag

REMOTE_HELP = "the remote whose protected branches decide (default origin)"
TRUSTED_HELP = "the protected branch holding the release settings (default: the remote's HEAD)"


def _repo() -> Path:
    from ops.gitkit import toplevel

    return toplevel(Path.cwd())


def _render(verified: VerifiedTag, as_json: bool) -> None:
    if as_json:
        print_json(asdict(verified))
        return
    print(
        f"{verified.tag}: signed ({verified.method}) by {verified.signer}; "
        f"{verified.commit[:12]} is on {verified.branch}; deploys to {verified.environment}"
    )


@task(help={"tag": f"a release tag ({RULE})"})
def resolve(c: Context, tag: str) -> None:
    """Print the environment a release tag deploys to (staging or prod), for CI."""
    from ops.release.versions import environment_for_version

    print(environment_for_version(tag))


@task(
    help={
        "tag": "the tag to check",
        "remote": REMOTE_HELP,
        "trusted_branch": TRUSTED_HELP,
        "fetch": "fetch the protected branches first (default; --no-fetch uses the local copies)",
        "json": JSON_HELP,
    }
)
def verify(
    c: Context,
    tag: str,
    remote: str = "origin",
    trusted_branch: str | None = None,
    fetch: bool = True,
    json: bool = False,
) -> None:
    """Check a release tag: annotated, signed by an allowed key, on its environment's branch."""
    from ops.release.verify import verify_tag

    _render(
        verify_tag(_repo(), tag, remote=remote, trusted_branch=trusted_branch, fetch=fetch), json
    )


@task(
    name="next",
    help={
        "env": f"the environment to release to: {' or '.join(DEPLOYABLE_ENVIRONMENTS)}",
        "bump": f"which number to raise: {', '.join(BUMPS)} (default patch)",
        "tag": "create the tag (signed, then verified) instead of only printing the version",
        "ref": "the commit to tag (default HEAD)",
        "push": "push the new tag to the remote (with --tag)",
        "remote": REMOTE_HELP,
        "trusted_branch": TRUSTED_HELP,
    },
)
def next_(
    c: Context,
    env: str,
    bump: str = "patch",
    tag: bool = False,
    ref: str = "HEAD",
    push: bool = False,
    remote: str = "origin",
    trusted_branch: str | None = None,
) -> None:
    """Print the next release version for an environment, or create it signed with --tag."""
    from ops.gitkit import tags
    from ops.release.errors import ReleaseError
    from ops.release.numbering import create_verified_tag, next_version

    repo = _repo()
    version = next_version(tags(repo), env, bump)
    if not tag:
        if push:
            raise ReleaseError("--push needs --tag")
        print(version)
        return
    verified = create_verified_tag(
        repo, version, ref, remote=remote, trusted_branch=trusted_branch, push=push
    )
    _render(verified, False)
    if not push:
        print(f"push it with: git push {remote} refs/tags/{version}")


@task(
    help={
        "start": "create the hotfix/<version> branch at the last production release",
        "tag": "sign the hot-fix version on the release branch's tip (or --ref), verified",
        "ref": "the commit to tag with --tag (default: the release branch's tip)",
        "push": "push the new tag to the remote (with --tag)",
        "remote": REMOTE_HELP,
        "trusted_branch": TRUSTED_HELP,
    }
)
def hotfix(
    c: Context,
    start: bool = False,
    tag: bool = False,
    ref: str | None = None,
    push: bool = False,
    remote: str = "origin",
    trusted_branch: str | None = None,
) -> None:
    """A patch release from the last production release: show it, --start it, --tag it."""
    from ops.release.errors import ReleaseError
    from ops.release.hotfix import plan_hotfix, tag_hotfix

    repo = _repo()
    if start and tag:
        raise ReleaseError("--start opens the hot fix and --tag releases it; run them apart")
    if tag:
        verified = tag_hotfix(
            repo, remote=remote, trusted_branch=trusted_branch, revision=ref, push=push
        )
        _render(verified, False)
        return
    plan = plan_hotfix(repo, remote=remote, trusted_branch=trusted_branch, start=start)
    action = "created" if plan.created else "would create (--start)"
    print(f"last production release: {plan.base_tag} ({plan.base_commit[:12]})")
    print(f"hot fix: {plan.version}; {action} branch {plan.branch} at it")
    print(
        "next: commit the fix there, merge it into the release branch through review, then "
        "inv release.hotfix --tag --push"
    )


ns = Collection("release")
ns.add_task(resolve)
ns.add_task(verify)
ns.add_task(next_)
ns.add_task(hotfix)
