"""`inv upstream.template` on a real copier template (a git repository on disk) and a
deployment repository generated from it, pushed to a bare origin. copier writes conflicts
inline and exits 0; the update must still be reported as a conflict and pushed nowhere."""

from __future__ import annotations

import json

import copier
import pytest

from common.errors import ExitCode
from tests.support.release_git import run
from tests.support.upstream_git import commit_files, git, inv

pytestmark = [pytest.mark.acceptance]

COPIER_YML = "project:\n  type: str\n  default: genomics\n_answers_file: .copier-answers.yml\n"
ANSWERS = "{{ _copier_answers|to_nice_yaml }}"
SETTINGS = "name = {{ project }}\nworkers = 4\nregion = eu-west-1\n"
UPSTREAMS = '[upgrade]\ntest_command = "sh check.sh"\ntest_timeout_seconds = 60\n'


@pytest.fixture
def deployment(tmp_path):
    """(template working repository, deployment clone, bare origin of the deployment)."""
    template, origin, work = tmp_path / "template", tmp_path / "origin.git", tmp_path / "work"
    run("git", "init", "--quiet", "--initial-branch=main", template)
    commit_files(template, "template: first", {
        "copier.yml": COPIER_YML,
        "{{ _copier_conf.answers_file }}.jinja": ANSWERS,
        "settings.toml.jinja": SETTINGS,
        "check.sh": "! grep -q BROKEN settings.toml\n",
    })  # fmt: skip
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", origin)
    copier.run_copy(str(template), work, defaults=True, quiet=True, vcs_ref="HEAD")
    run("git", "init", "--quiet", "--initial-branch=main", work)
    git(work, "remote", "add", "origin", str(origin))
    commit_files(work, "generated from the template",
                 {"infrastructure/upstreams.toml": UPSTREAMS})  # fmt: skip
    git(work, "push", "--quiet", "origin", "main")
    return template, work, origin


def _template_update(work, tmp_path):
    report = tmp_path / "template-report.json"
    result = inv("upstream.template", "--repo", str(work), "--report", str(report), "--json",
                 state_dir=tmp_path / "state")  # fmt: skip
    return result, json.loads(report.read_text())


def _origin_branches(origin) -> list[str]:
    return sorted(git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split())


def test_a_template_update_with_a_conflict_is_reported_and_not_pushed(deployment, tmp_path):
    template, work, origin = deployment
    commit_files(work, "we need more workers", {
        "settings.toml": "name = genomics\nworkers = 16\nregion = eu-west-1\n",
    })  # fmt: skip
    git(work, "push", "--quiet", "origin", "main")
    commit_files(template, "template: fewer workers by default", {
        "settings.toml.jinja": SETTINGS.replace("workers = 4", "workers = 2"),
    })  # fmt: skip
    result, report = _template_update(work, tmp_path)
    assert result.returncode == ExitCode.CONFLICT, result.stderr
    assert report["outcome"] == "conflict" and report["pushed"] is False
    conflicts = report["steps"][-1]
    assert conflicts["name"] == "conflicts" and "settings.toml" in conflicts["data"]["files"]
    assert conflicts["data"]["markers"][0]["path"] == "settings.toml"
    assert "settings.toml" in result.stderr
    assert _origin_branches(origin) == ["main"]
    text = (work / "settings.toml").read_text()
    assert "workers = 16" in text and "workers = 2" in text  # both sides, for a human
    assert report["source"]["from"] != report["source"]["to"]
    assert git(work, "branch", "--show-current").strip() == report["branch"]


def test_a_clean_template_update_is_committed_tested_and_pushed(deployment, tmp_path):
    template, work, origin = deployment
    commit_files(template, "template: a new setting", {
        "settings.toml.jinja": SETTINGS + "retries = 3\n",
    })  # fmt: skip
    new_commit = git(template, "rev-parse", "--short", "HEAD").strip()
    result, report = _template_update(work, tmp_path)
    assert result.returncode == 0, result.stderr
    assert report["outcome"] == "pushed" and report["branch"] in _origin_branches(origin)
    assert report["branch"].endswith(f"-template-{report['source']['to']}")
    assert report["source"]["to"].startswith(new_commit[:7])
    pushed = git(origin, "show", f"{report['branch']}:settings.toml")
    assert "retries = 3" in pushed
    assert git(work, "branch", "--show-current").strip() == "main"
