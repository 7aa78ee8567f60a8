"""The git commands the upstream area runs, each through the one command wrapper."""

from __future__ import annotations

from pathlib import Path

from common.errors import CommandError
from common.shell import CommandResult, Value, run_command
from ops.upstream.errors import UpstreamError


def git(repo: Path, *args: str, check: bool = True) -> CommandResult:
    """Run `git ARGS` in `repo`; a failure is an UpstreamError with git's last lines. An
    argument from outside (a URL, a branch, a revision) comes as a `Value`."""
    try:
        return run_command(["git", *args], cwd=repo, check=check)
    except CommandError as exc:
        raise UpstreamError(str(exc)) from None


def toplevel(start: Path) -> Path:
    """The root of the git checkout that holds `start`."""
    result = git(start, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise UpstreamError(f"{start} is not inside a git checkout; run this from the repository")
    return Path(result.stdout.strip())


def resolve(repo: Path, revision: str) -> str | None:
    """The commit `revision` names, or None when it names nothing."""
    result = git(
        repo, "rev-parse", "--verify", "--quiet", Value(f"{revision}^{{commit}}"), check=False
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def current_branch(repo: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    result = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def tracked_changes(repo: Path) -> list[str]:
    """Tracked files changed but not committed (untracked files do not block a merge)."""
    output = git(repo, "status", "--porcelain", "--untracked-files=no").stdout
    return [line[3:] for line in output.splitlines() if line.strip()]


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


def fetch_ref(repo: Path, url: str, branch: str, into: str) -> str:
    """Fetch `branch` of `url` into the ref `into` (forced: the upstream is the authority on
    its own branch) and return its commit."""
    result = git(repo, "fetch", "--quiet", "--no-tags", "--", Value(url),
                 Value(f"+refs/heads/{branch}:{into}"), check=False)  # fmt: skip
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise UpstreamError(f"cannot fetch {branch} from {url}: {lines[-1] if lines else ''}")
    commit = resolve(repo, into)
    if commit is None:  # pragma: no cover - git said it fetched
        raise UpstreamError(f"fetched {branch} from {url} but {into} names nothing")
    return commit


def unmerged_paths(repo: Path) -> list[str]:
    """Files git shows as unmerged (a conflict it knows about)."""
    output = git(repo, "diff", "--name-only", "--diff-filter=U").stdout
    return sorted({line for line in output.splitlines() if line.strip()})
