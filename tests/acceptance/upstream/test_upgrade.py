"""`inv upstream.status` and `inv upstream.upgrade` on real repositories: a bare upstream, a
bare origin and a working clone, with a tiny test command declared in the clone's upstreams
file. Upgrades merge (never reset), stop on conflicts and failing tests, and push only when
green."""

from __future__ import annotations

import json

import pytest

from common.errors import ExitCode
from tests.support.upstream_git import PYPROJECT, git, inv, make_upgrade_repos

pytestmark = [pytest.mark.acceptance]


@pytest.fixture
def repos(tmp_path):
    return make_upgrade_repos(tmp_path)


def _upgrade(repos, tmp_path, *extra: str):
    report = tmp_path / "report.json"
    result = inv("upstream.upgrade", "--repo", str(repos.work), "--report", str(report), "--json",
                 *extra, state_dir=tmp_path / "state")  # fmt: skip
    return result, json.loads(report.read_text())


def test_status_shows_commits_behind_migrations_and_dependency_changes(repos, tmp_path):
    repos.upstream_commit("core: second table and newer requests", {
        "foreman/sql/migrations/0002_second.sql": "CREATE TABLE b (id int);\n",
        "pyproject.toml": PYPROJECT.format(deps='"requests>=2.32", "jinja2>=3"'),
    })  # fmt: skip
    repos.upstream_commit("core: wording", {"app.txt": "greeting = hello there\ncolour = blue\n"})
    result = inv("upstream.status", "--repo", str(repos.work), "--json",
                 state_dir=tmp_path / "state")  # fmt: skip
    assert result.returncode == 0, result.stderr
    [status] = json.loads(result.stdout)
    assert (status["name"], status["behind"], status["ahead"]) == ("core", 2, 1)
    assert [c["subject"] for c in status["commits"]] == [
        "core: wording", "core: second table and newer requests",
    ]  # fmt: skip
    assert status["migrations"] == [
        {"change": "added", "path": "foreman/sql/migrations/0002_second.sql"}
    ]
    changes = {(d["name"], d["change"]) for d in status["dependencies"]}
    assert changes == {("requests", "changed"), ("rich", "removed"), ("jinja2", "added")}
    assert '"requests>=2.32"' in status["dependency_diff"]
    table = inv("upstream.status", "--repo", str(repos.work), state_dir=tmp_path / "state")
    assert "2 commits behind" in table.stdout and "0002_second.sql" in table.stdout


def test_a_clean_merge_that_passes_is_pushed_on_its_own_branch(repos, tmp_path):
    main_before = git(repos.origin, "rev-parse", "main").strip()
    theirs = repos.upstream_commit("core: new migration", {
        "foreman/sql/migrations/0002_second.sql": "CREATE TABLE b (id int);\n",
    })  # fmt: skip
    result, report = _upgrade(repos, tmp_path)
    assert result.returncode == 0, result.stderr
    assert report["outcome"] == "pushed" and report["pushed"] is True
    assert [s["name"] for s in report["steps"]] == [
        "check_clean", "fetch", "branch", "merge", "scan", "test", "push",
    ]  # fmt: skip
    assert all(step["ok"] for step in report["steps"])
    branch = report["branch"]
    assert branch.startswith("upgrade/") and branch.endswith(f"-{theirs[:12]}")
    assert branch in repos.origin_branches()
    pushed = git(repos.origin, "rev-parse", branch).strip()
    parents = git(repos.origin, "rev-parse", f"{pushed}^1", f"{pushed}^2").split()
    assert parents == [main_before, theirs]  # a merge at the head of main: nothing reset
    assert git(repos.origin, "rev-parse", "main").strip() == main_before
    assert git(repos.work, "branch", "--show-current").strip() == "main"
    assert json.loads(result.stdout)["outcome"] == "pushed"
    # Until the branch is merged, the same upgrade again is refused, not redone over it.
    again, second = _upgrade(repos, tmp_path)
    assert again.returncode == 1 and f"branch {branch} already exists" in second["error"]
    assert git(repos.origin, "rev-parse", branch).strip() == pushed


def test_a_conflict_names_the_files_pushes_nothing_and_leaves_the_merge_unmerged(repos, tmp_path):
    repos.local_commit("deployment: our colour", {"app.txt": "greeting = hello\ncolour = red\n"})
    repos.upstream_commit("core: their colour", {"app.txt": "greeting = hello\ncolour = green\n"})
    branches_before = repos.origin_branches()
    result, report = _upgrade(repos, tmp_path)
    assert result.returncode == ExitCode.CONFLICT, result.stderr
    assert report["outcome"] == "conflict" and report["pushed"] is False
    merge = report["steps"][-1]
    assert merge["name"] == "merge" and not merge["ok"]
    assert merge["data"]["unmerged"] == ["app.txt"]
    assert merge["data"]["markers"][0]["path"] == "app.txt"
    assert "app.txt" in result.stderr.splitlines()[-1]
    assert repos.origin_branches() == branches_before
    assert "UU app.txt" in git(repos.work, "status", "--porcelain")
    assert git(repos.work, "branch", "--show-current").strip() == report["branch"]
    # The human's next run is refused until the merge is finished, not silently reset.
    refused, second = _upgrade(repos, tmp_path)
    assert refused.returncode == 1 and "a merge is in progress" in second["error"]
    assert "UU app.txt" in git(repos.work, "status", "--porcelain")


def test_an_upgrade_whose_tests_fail_is_not_pushed(repos, tmp_path):
    repos.upstream_commit("core: a regression", {"app.txt": "greeting = BROKEN\ncolour = blue\n"})
    branches_before = repos.origin_branches()
    result, report = _upgrade(repos, tmp_path)
    assert result.returncode == ExitCode.OUT_OF_SYNC, result.stderr
    assert report["outcome"] == "tests-failed" and report["pushed"] is False
    test_step = report["steps"][-1]
    assert test_step["name"] == "test" and test_step["data"]["returncode"] == 1
    assert repos.origin_branches() == branches_before
    # The merge is kept on the local upgrade branch for a human to fix.
    assert git(repos.work, "branch", "--list", report["branch"]).strip()


def test_conflict_markers_committed_upstream_are_caught_by_the_scan(repos, tmp_path):
    marker = "<" * 7
    repos.upstream_commit("core: a bad merge of theirs", {
        "notes.txt": f"{marker} HEAD\nmine\n{'=' * 7}\ntheirs\n{'>' * 7} other\n",
    })  # fmt: skip
    branches_before = repos.origin_branches()
    result, report = _upgrade(repos, tmp_path)
    assert result.returncode == ExitCode.CONFLICT
    scan = report["steps"][-1]
    assert scan["name"] == "scan" and scan["data"]["markers"][0]["path"] == "notes.txt"
    assert scan["data"]["markers"][0]["line"] == 1
    assert repos.origin_branches() == branches_before


def test_nothing_to_merge_is_up_to_date_and_creates_no_branch(repos, tmp_path):
    result, report = _upgrade(repos, tmp_path)
    assert result.returncode == 0 and report["outcome"] == "up-to-date"
    assert report["branch"] == "" and repos.origin_branches() == ["main"]


def test_an_unknown_upstream_is_one_line_and_non_zero(repos, tmp_path):
    result = inv("upstream.upgrade", "--repo", str(repos.work), "--name", "nope",
                 state_dir=tmp_path / "state")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no upstream named 'nope' in {repos.work}/infrastructure/upstreams.toml "
        "(declared: core)"
    ]


def test_a_rej_file_anywhere_even_ignored_stops_the_upgrade(repos, tmp_path):
    repos.local_commit("deployment: ignore build output", {".gitignore": "build/\n"})
    (repos.work / "build" / "deep").mkdir(parents=True)
    (repos.work / "build" / "deep" / "settings.py.rej").write_text("@@ -1 +1 @@\n-a\n+b\n")
    repos.upstream_commit("core: wording", {"app.txt": "greeting = hi\ncolour = blue\n"})
    branches_before = repos.origin_branches()
    result, report = _upgrade(repos, tmp_path)
    assert result.returncode == ExitCode.CONFLICT
    assert report["steps"][-1]["data"]["leftovers"] == ["build/deep/settings.py.rej"]
    assert repos.origin_branches() == branches_before
