"""The git commands the ops areas run (release tags, upstream merges, the commit being
deployed), each through the one command wrapper.

The helpers return plain values and turn git's failures into a `GitError` that carries git's
last lines; an argument from outside (a URL, a branch, a revision) comes as a `Value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.errors import CommandError, RefineryError
from common.shell import CommandResult, Value, run_command


class GitError(RefineryError):
    """git failed, or the folder is not a git checkout."""


def git(
    repo: Path, *args: str, check: bool = True, env: Mapping[str, str] | None = None
) -> CommandResult:
    """Run `git ARGS` in `repo`; a failure is a GitError with git's last lines."""
    try:
        return run_command(["git", *args], cwd=repo, check=check, env=env)
    except CommandError as exc:
        raise GitError(str(exc)) from None


def toplevel(start: Path) -> Path:
    """The root of the git checkout that holds `start`."""
    result = git(start, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise GitError(f"{start} is not inside a git checkout; run this from the repository")
    return Path(result.stdout.strip())


def resolve(repo: Path, revision: str) -> str | None:
    """The object id `revision` names, or None when it names nothing (`REV^{commit}` asks
    for a commit)."""
    result = git(repo, "rev-parse", "--verify", "--quiet", Value(revision), check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def object_type(repo: Path, revision: str) -> str:
    """`tag`, `commit`… for an existing object."""
    return git(repo, "cat-file", "-t", Value(revision)).stdout.strip()


def is_ancestor(repo: Path, commit: str, branch_ref: str) -> bool:
    """Whether `commit` is reachable from `branch_ref` (on that branch's history)."""
    result = git(repo, "merge-base", "--is-ancestor", Value(commit), Value(branch_ref), check=False)
    return result.returncode == 0


def show_file(repo: Path, ref: str, path: str) -> str | None:
    """The content of `path` at `ref`, or None when the file is not there."""
    result = git(repo, "show", Value(f"{ref}:{path}"), check=False)
    return result.stdout if result.returncode == 0 else None


def tags(repo: Path, *, points_at: str | None = None) -> list[str]:
    """Every tag name of `repo`, or those pointing at `points_at` (`HEAD`, say)."""
    where = ["--points-at", Value(points_at)] if points_at else []
    output = git(repo, "tag", "--list", *where).stdout
    return [line.strip() for line in output.splitlines() if line.strip()]


def current_branch(repo: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    result = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def tracked_changes(repo: Path) -> list[str]:
    """Tracked files changed but not committed (untracked files do not block a merge)."""
    output = git(repo, "status", "--porcelain", "--untracked-files=no").stdout
    return [line[3:] for line in output.splitlines() if line.strip()]


def unmerged_paths(repo: Path) -> list[str]:
    """Files git shows as unmerged (a conflict it knows about)."""
    output = git(repo, "diff", "--name-only", "--diff-filter=U").stdout
    return sorted({line for line in output.splitlines() if line.strip()})


def operation_in_progress(repo: Path) -> str | None:
    """The merge, rebase, cherry-pick or revert a human has left unfinished, if any."""
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir").stdout.strip())
    markers = {
        "MERGE_HEAD": "a merge",
        "rebase-merge": "a rebase",
        "rebase-apply": "a rebase",
        "CHERRY_PICK_HEAD": "a cherry-pick",
        "REVERT_HEAD": "a revert",
    }
    for name, what in markers.items():
        if (git_dir / name).exists():
            return what
    return None


def remote_default_branch(repo: Path, remote: str) -> str | None:
    """The branch the remote's HEAD names (its default branch), asked of the remote itself;
    None when the remote does not say."""
    result = git(repo, "ls-remote", "--symref", Value(remote), "HEAD", check=False)
    for line in result.stdout.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    return None


def fetch_branches(repo: Path, source: str, refs: Mapping[str, str]) -> None:
    """Fetch each branch of `source` (a remote or a URL) into the ref `refs` gives it,
    forced: the source is the authority on its own branches."""
    specs = [Value(f"+refs/heads/{branch}:{ref}") for branch, ref in refs.items()]
    result = git(repo, "fetch", "--quiet", "--no-tags", "--", Value(source), *specs, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise GitError(
            f"cannot fetch {', '.join(refs)} from {source}: {lines[-1] if lines else ''}"
        )


def fetch_commit(repo: Path, source: str, branch: str, into: str) -> str:
    """Fetch `branch` of `source` into the ref `into` and return its commit."""
    fetch_branches(repo, source, {branch: into})
    commit = resolve(repo, f"{into}^{{commit}}")
    if commit is None:  # pragma: no cover - git said it fetched
        raise GitError(f"fetched {branch} from {source} but {into} names nothing")
    return commit
