"""The git commands the release area runs, each through the one command wrapper.

Release decisions rest on what git says about refs and signatures, so these helpers return
plain values and turn git's failures into `ReleaseError`s that name the ref involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from common.errors import CommandError
from common.shell import CommandResult, Value, run_command
from ops.release.errors import ReleaseError


def git(
    repo: Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run `git ARGS` in `repo`; a failure is a ReleaseError with git's last lines."""
    try:
        return run_command(["git", *args], cwd=repo, check=check, env=env)
    except CommandError as exc:
        raise ReleaseError(str(exc)) from None


def toplevel(start: Path) -> Path:
    """The root of the git checkout that holds `start`."""
    result = git(start, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise ReleaseError(f"{start} is not inside a git checkout; run this from the repository")
    return Path(result.stdout.strip())


def resolve(repo: Path, revision: str) -> str | None:
    """The object id `revision` names, or None when it names nothing."""
    result = git(repo, "rev-parse", "--verify", "--quiet", Value(revision), check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def object_type(repo: Path, revision: str) -> str:
    """`tag`, `commit`… for an existing object."""
    return git(repo, "cat-file", "-t", Value(revision)).stdout.strip()


def is_ancestor(repo: Path, commit: str, branch_ref: str) -> bool:
    """Whether `commit` is reachable from `branch_ref` (on that branch's history)."""
    return (
        git(
            repo, "merge-base", "--is-ancestor", Value(commit), Value(branch_ref), check=False
        ).returncode
        == 0
    )


def show_file(repo: Path, ref: str, path: str) -> str | None:
    """The content of `path` at `ref`, or None when the file is not there."""
    result = git(repo, "show", Value(f"{ref}:{path}"), check=False)
    return result.stdout if result.returncode == 0 else None


def tags(repo: Path) -> list[str]:
    """Every tag name of `repo`."""
    return [line for line in git(repo, "tag", "--list").stdout.splitlines() if line.strip()]


def remote_default_branch(repo: Path, remote: str) -> str:
    """The branch the remote's HEAD names (its default branch), asked of the remote itself."""
    result = git(repo, "ls-remote", "--symref", Value(remote), "HEAD", check=False)
    for line in result.stdout.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    raise ReleaseError(
        f"cannot ask remote {remote!r} for its default branch; check the remote, or name the "
        "protected branch with --trusted-branch"
    )


def fetch_branches(repo: Path, remote: str, branches: Sequence[str]) -> None:
    """Bring `refs/remotes/REMOTE/BRANCH` up to date for each branch (forced, as the remote is
    the authority on its own branches)."""
    specs = [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in dict.fromkeys(branches)]
    result = git(repo, "fetch", "--quiet", "--no-tags", "--", Value(remote), *specs, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ReleaseError(
            f"cannot fetch {', '.join(branches)} from {remote}: {lines[-1] if lines else ''}"
        )
