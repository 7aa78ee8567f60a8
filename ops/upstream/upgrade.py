"""`upstream.upgrade`: merge an upstream into a new branch, scan, test, and push only when green.

The steps, each recorded in the report as it ends:
1. *check_clean* — no merge or rebase left unfinished, no uncommitted tracked changes;
2. *fetch* — the upstream's branch into `refs/upstreams/<name>/<branch>`; nothing to do when
   the local branch already holds it;
3. *branch* — `upgrade/<date>-<upstream sha>` at the head of the local branch;
4. *merge* — `git merge --no-ff` of the upstream commit. The local branch is never reset and
   no history is rewritten: a conflict stops here, leaving the merge in progress so that
   `git status` shows the unmerged files to the human who resolves them;
5. *scan* — the whole tree, for unmerged paths, conflict markers and `.rej`/`.orig` files;
6. *test* — the configured test command, in the checkout;
7. *push* — the upgrade branch to the push remote, only after all of the above passed; the
   checkout then returns to the branch it was on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import CommandError
from common.shell import Value, run_command
from ops.gitkit import (
    current_branch,
    fetch_commit,
    git,
    operation_in_progress,
    resolve,
    tracked_changes,
)
from ops.upstream.errors import UpstreamError
from ops.upstream.report import StepFailed, UpgradeReport
from ops.upstream.scan import ConflictScan, scan_tree
from ops.upstream.settings import UpstreamSettings

StepResult = tuple[str, dict[str, Any]]
_OUTPUT_LINES = 40


def upgrade_branch_name(label: str, today: datetime | None = None) -> str:
    """`upgrade/<yyyymmdd>-<label>`: the day, then what is merged."""
    day = (today or datetime.now(UTC)).strftime("%Y%m%d")
    return f"upgrade/{day}-{label}"


def run_upstream_upgrade(
    repo: Path, settings: UpstreamSettings, name: str | None, report: UpgradeReport,
    *, push: bool = True,
) -> UpgradeReport:  # fmt: skip
    """Merge the upstream `name` (see the module docstring); the report says how it ended."""
    upstream = settings.upstream(name)
    report.name = upstream.name
    report.source = {"url": upstream.url, "branch": upstream.branch}
    report.base_branch = upstream.local_branch
    state: dict[str, Any] = {}
    try:
        report.run_step("check_clean", lambda: check_clean(repo, state))

        def fetch() -> StepResult:
            local = resolve(repo, f"refs/heads/{upstream.local_branch}")
            if local is None:
                raise UpstreamError(f"{upstream.local_branch} is not a branch of this repository")
            theirs = fetch_commit(repo, upstream.url, upstream.branch, upstream.fetched_ref)
            report.base_commit, report.source["commit"] = local, theirs
            behind = int(git(repo, "rev-list", "--count", f"{local}..{theirs}").stdout.strip())
            state["behind"] = behind
            return f"{upstream.local_branch} is {behind} commits behind {theirs[:12]}", {
                "behind": behind, "upstream_commit": theirs, "local_commit": local,
            }  # fmt: skip

        report.run_step("fetch", fetch)
        if not state["behind"]:
            report.finish("up-to-date")
            return report
        theirs = report.source["commit"]
        report.branch = upgrade_branch_name(theirs[:12])
        report.run_step("branch", lambda: create_branch(repo, report.branch, report.base_commit))

        def merge() -> StepResult:
            message = (
                f"Merge upstream {upstream.name} ({upstream.branch} at {theirs[:12]}) "
                f"into {upstream.local_branch}"
            )
            result = git(repo, "merge", "--no-ff", "--no-edit", "-m", message, theirs, check=False)
            if result.returncode == 0:
                return f"merged {theirs[:12]}", {}
            scan = scan_tree(repo)
            if not scan.clean:
                raise conflict_failure(scan, "the merge stopped on conflicts")
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise UpstreamError(f"git merge failed: {lines[-1] if lines else result.returncode}")

        report.run_step("merge", merge)
        finish_green(repo, settings, report, state, push=push)
    except StepFailed:
        pass
    return report


def check_clean(repo: Path, state: dict[str, Any]) -> StepResult:
    """Refuse to start on a checkout with unfinished work (it would be mixed in)."""
    unfinished = operation_in_progress(repo)
    if unfinished:
        raise UpstreamError(f"{unfinished} is in progress in {repo}; finish or abort it first")
    changed = tracked_changes(repo)
    if changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise UpstreamError(f"uncommitted changes in {changed[0]}{more}; commit or stash them")
    state["return_to"] = current_branch(repo)
    return f"clean, on {state['return_to'] or 'a detached HEAD'}", {}


def create_branch(repo: Path, branch: str, start: str) -> StepResult:
    if resolve(repo, f"refs/heads/{branch}"):
        raise UpstreamError(
            f"branch {branch} already exists (an earlier upgrade of the same commit today); "
            f"look at it, or delete it with git branch -D {branch} to start over"
        )
    git(repo, "switch", "--quiet", "-c", branch, start)
    return f"created {branch} at {start[:12]}", {}


def conflict_failure(scan: ConflictScan, what: str) -> StepFailed:
    """The StepFailed of a conflict: every file named, and the scan in the report's data."""
    return StepFailed(
        "conflict",
        f"{what}: {scan.summary()}; resolve them, commit, and run the tests",
        {"files": scan.files, "unmerged": scan.unmerged, "leftovers": scan.leftovers,
         "markers": [hit.__dict__ for hit in scan.markers]},
    )  # fmt: skip


def scan_step(repo: Path) -> StepResult:
    scan = scan_tree(repo)
    if not scan.clean:
        raise conflict_failure(scan, "the tree is not clean")
    return "no unmerged files, conflict markers, .rej or .orig files", {}


def run_tests(repo: Path, settings: UpstreamSettings) -> StepResult:
    """The test command in the checkout; its exit code decides, its last lines are kept."""
    command = settings.test_command
    try:
        result = run_command(
            ["sh", "-c", command], cwd=repo, check=False, timeout=settings.test_timeout_seconds
        )
    except CommandError as exc:
        raise StepFailed("tests-failed", f"{command!r}: {exc}", {"command": command}) from None
    output = (result.stdout + result.stderr).strip().splitlines()[-_OUTPUT_LINES:]
    data = {"command": command, "returncode": result.returncode, "output": output}
    if result.returncode != 0:
        raise StepFailed("tests-failed", f"{command!r} exited {result.returncode}", data)
    return f"{command!r} passed", data


def finish_green(
    repo: Path, settings: UpstreamSettings, report: UpgradeReport, state: dict[str, Any],
    *, push: bool,
) -> None:  # fmt: skip
    """Scan, test and, when both pass, push the branch and return to the original branch."""
    report.run_step("scan", lambda: scan_step(repo))
    report.run_step("test", lambda: run_tests(repo, settings))
    if not push:
        report.finish("merged")
        return
    report.run_step("push", _push(repo, settings.push_remote, report.branch))
    report.pushed = True
    if state.get("return_to"):
        git(repo, "switch", "--quiet", state["return_to"])
    report.finish("pushed")


def _push(repo: Path, remote: str, branch: str) -> Callable[[], StepResult]:
    def push() -> StepResult:
        git(repo, "push", "--quiet", Value(remote), f"refs/heads/{branch}:refs/heads/{branch}")
        return f"pushed {branch} to {remote}", {"remote": remote}

    return push
