"""The GitHub workflows: what runs on a tag, in which order, with which guarantees.

The steps themselves are `scripts/release-ci.sh`, run on this machine by
tests/acceptance/release/test_release_ci.py; this file pins the workflow around them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from common.environments import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github/workflows"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def run_lines(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_test_workflow_runs_the_test_command_on_pushes_and_pull_requests():
    workflow = load("test.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    assert run_lines(workflow["jobs"]["test"])[-1] == "./scripts/test.sh"


def test_a_pushed_tag_is_verified_then_tested_then_deployed_through_the_script():
    workflow = load("release.yml")
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    jobs = workflow["jobs"]
    assert run_lines(jobs["verify"])[-1] == './scripts/release-ci.sh verify "$TAG"'
    assert jobs["test"]["needs"] == "verify"
    assert run_lines(jobs["test"])[-1] == "./scripts/release-ci.sh test"
    assert jobs["deploy"]["needs"] == ["verify", "test"]
    assert run_lines(jobs["deploy"])[-1] == './scripts/release-ci.sh deploy "$TAG"'


def test_one_deploy_per_environment_queued_never_cancelled_behind_its_environment():
    deploy = load("release.yml")["jobs"]["deploy"]
    environment = "${{ needs.verify.outputs.environment }}"
    assert deploy["environment"] == environment  # prod's required reviewers apply here
    assert deploy["concurrency"] == {
        "group": f"deploy-{environment}",
        "cancel-in-progress": False,
    }


def test_permissions_are_minimal_and_secrets_reach_steps_only_through_env():
    workflow = load("release.yml")
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name
        for step in job["steps"]:
            assert "secrets." not in step.get("run", ""), (name, step)
            assert step.get("with", {}).get("persist-credentials") in (False, None), name
            if "uses" in step:
                assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]
    secrets = re.findall(r"secrets\.\w+", (WORKFLOWS / "release.yml").read_text())
    assert secrets and all(
        name in yaml.safe_dump(workflow["jobs"]["deploy"]["steps"][-1]["env"]) for name in secrets
    )


def test_zizmor_finds_nothing_in_the_workflows():
    zizmor = Path(sys.executable).with_name("zizmor")
    result = subprocess.run(
        [str(zizmor), "--offline", "--quiet", str(WORKFLOWS)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
