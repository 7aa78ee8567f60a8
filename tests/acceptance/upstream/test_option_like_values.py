"""A value from the upstreams file never reaches git as an option: `inv upstream.status` and
`upstream.upgrade` refuse a url that starts with `-` in one line, and git runs nothing."""

from __future__ import annotations

import pytest

from tests.support.upstream_git import UPSTREAMS, commit_files, inv, make_upgrade_repos

pytestmark = [pytest.mark.acceptance]


@pytest.mark.parametrize("task", ["upstream.status", "upstream.upgrade"])
def test_an_upload_pack_url_in_the_upstreams_file_is_refused_and_runs_nothing(tmp_path, task):
    repos = make_upgrade_repos(tmp_path)
    pwned = tmp_path / "pwned"
    hostile = UPSTREAMS.format(url=f"--upload-pack=touch {pwned}")
    commit_files(repos.work, "point the upstream somewhere odd",
                 {"infrastructure/upstreams.toml": hostile})  # fmt: skip
    result = inv(task, "--repo", str(repos.work), state_dir=tmp_path / "state")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # status refuses as bad input (2); upgrade reports the step that stopped (1)
    assert result.returncode == (2 if task == "upstream.status" else 1), result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    assert "refusing to run git: the value '--upload-pack=touch" in lines[0], lines
    assert "would be read as an option" in lines[0]
    assert not pwned.exists()


@pytest.mark.parametrize("branch", ["main:refs/heads/evil", "--help", "a..b"])
def test_a_branch_that_is_not_a_branch_name_is_refused_in_one_line(tmp_path, branch):
    repos = make_upgrade_repos(tmp_path)
    hostile = UPSTREAMS.format(url=repos.upstream).replace(
        'branch = "main"', f'branch = "{branch}"'
    )
    commit_files(repos.work, "an odd branch", {"infrastructure/upstreams.toml": hostile})
    result = inv("upstream.status", "--repo", str(repos.work), state_dir=tmp_path / "state")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert f"branch {branch!r} is not a branch name" in lines[0], lines
