"""Real repositories on disk for the upstream tests: a bare upstream, a bare origin made from
it, and a working clone of origin that declares the upstream in `infrastructure/upstreams.toml`
with a tiny test command (`sh check.sh`: fails when app.txt says BROKEN)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.release_git import GIT_ENV, run

REPO_ROOT = Path(__file__).resolve().parents[2]
INV = str(Path(sys.executable).with_name("inv"))

PYPROJECT = """[project]
name = "deployment"
version = "1.0"
dependencies = [{deps}]
"""
CHECK = "! grep -q BROKEN app.txt\n"
UPSTREAMS = """[upgrade]
test_command = "sh check.sh"
test_timeout_seconds = 60
push_remote = "origin"

[[upstreams]]
name = "core"
url = "{url}"
branch = "main"
local_branch = "main"
"""


def git(repo: Path, *args: str) -> str:
    return run("git", *args, cwd=repo)


def commit_files(repo: Path, message: str, files: dict[str, str]) -> str:
    """Write `files` (relative path → text) in `repo`, commit them, return the commit."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@dataclass
class UpgradeRepos:
    """upstream.git and its working copy `upstream_work`, origin.git and the clone `work`."""

    root: Path
    upstream: Path
    upstream_work: Path
    origin: Path
    work: Path

    def upstream_commit(self, message: str, files: dict[str, str]) -> str:
        sha = commit_files(self.upstream_work, message, files)
        git(self.upstream_work, "push", "--quiet", "origin", "main")
        return sha

    def local_commit(self, message: str, files: dict[str, str]) -> str:
        sha = commit_files(self.work, message, files)
        git(self.work, "push", "--quiet", "origin", "main")
        return sha

    def origin_branches(self) -> list[str]:
        output = git(self.origin, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return sorted(output.split())


def make_upgrade_repos(root: Path) -> UpgradeRepos:
    upstream, origin = root / "upstream.git", root / "origin.git"
    upstream_work, work = root / "upstream-work", root / "work"
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", upstream)
    run("git", "clone", "--quiet", upstream, upstream_work)
    git(upstream_work, "switch", "--quiet", "-c", "main")
    commit_files(upstream_work, "core: first release", {
        "app.txt": "greeting = hello\ncolour = blue\n",
        "check.sh": CHECK,
        "pyproject.toml": PYPROJECT.format(deps='"requests>=2.30", "rich>=13"'),
        "foreman/sql/migrations/0001_first.sql": "CREATE TABLE a (id int);\n",
    })  # fmt: skip
    git(upstream_work, "push", "--quiet", "origin", "main")
    run("git", "clone", "--quiet", "--bare", upstream, origin)
    run("git", "clone", "--quiet", origin, work)
    repos = UpgradeRepos(root, upstream, upstream_work, origin, work)
    repos.local_commit("deployment: declare the upstream", {
        "infrastructure/upstreams.toml": UPSTREAMS.format(url=upstream),
        "local.txt": "ours\n",
    })  # fmt: skip
    return repos


def inv(*args: str, state_dir: Path) -> subprocess.CompletedProcess:
    """`inv ARGS` from the project root, with git configured only by GIT_ENV."""
    return subprocess.run(
        [INV, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **GIT_ENV, "REFINERY_STATE_DIR": str(state_dir)},
    )  # fmt: skip
