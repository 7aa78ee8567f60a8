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
    assert run_lines(workflow["jobs"]["test"])[-1] == "./scripts/ci-test.sh"


def test_tests_run_in_the_debian_container_as_root_through_one_script():
    release = load("release.yml")["jobs"]["test"]
    for job in (load("test.yml")["jobs"]["test"], release):
        # Debian bookworm (what the project is tested on); no user option: root
        assert job["container"] == {"image": "debian:bookworm", "options": "--privileged"}
        assert not any("setup-python" in step.get("uses", "") for step in job["steps"])
    assert run_lines(release)[-1] == "./scripts/release-ci.sh test"
    script = (REPO_ROOT / "scripts/release-ci.sh").read_text()
    assert "  test)\n    exec ./scripts/ci-test.sh\n" in script  # the same script, no drift
    assert "exec ./scripts/ci-test.sh" in (REPO_ROOT / "scripts/test.sh").read_text()


def test_no_workflow_holds_long_lived_aws_keys_the_deploy_assumes_a_role_through_oidc():
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id",
                    "aws-secret-access-key", "AWS_SESSION_TOKEN"):  # fmt: skip
            assert key not in text, (path.name, key)
    deploy = load("release.yml")["jobs"]["deploy"]
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    [credentials] = [s for s in deploy["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert credentials["uses"].startswith("aws-actions/configure-aws-credentials@")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    names = [s.get("name", s.get("uses")) for s in deploy["steps"]]
    assert names.index(credentials["name"]) < names.index("Deploy")


def test_the_deploy_role_trusts_exactly_this_repository_in_the_deploy_jobs_environment():
    import hcl2

    iam = (REPO_ROOT / "infrastructure/modules/iam/main.tf").read_text()
    assert '"repo:${var.github_repository}:environment:${var.github_environment}"' in iam
    assert 'variable = "${local.github_oidc_host}:aud"' in iam
    assert "sts:AssumeRoleWithWebIdentity" in iam
    stack = (REPO_ROOT / "infrastructure/stacks/aws/main.tf").read_text()
    assert "github_environment            = var.environment" in stack
    for name in ("staging", "prod"):
        with (REPO_ROOT / f"infrastructure/environments/{name}.tfvars").open() as handle:
            values = hcl2.load(handle)
        assert values["environment"].strip('"') == name  # the deploy job's GitHub environment
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", values["github_repository"].strip('"'))
    assert load("release.yml")["jobs"]["deploy"]["environment"] == (
        "${{ needs.verify.outputs.environment }}"
    )


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
        # the deploy also asks for its OIDC token (below), nothing else
        assert {k: v for k, v in job["permissions"].items() if k != "id-token"} == {
            "contents": "read"
        }, name
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


def test_the_deploy_step_rehearses_only_on_the_sandbox_never_on_another_environment(tmp_path):
    """`RELEASE_ENVIRONMENT` may send a verified tag to the sandbox, and nowhere else: any other
    value stops the step before the tag is even looked at (no `inv` runs)."""
    script = (REPO_ROOT / "scripts/release-ci.sh").read_text()
    assert 'environment=${rehearse_on:-$("$inv" release.resolve "$tag")}' in script
    for other in ("prod", "staging", "local"):
        result = subprocess.run(
            [str(REPO_ROOT / "scripts/release-ci.sh"), "deploy", "v1.0.0"],
            env={"PATH": "/usr/bin:/bin", "RELEASE_ENVIRONMENT": other, "HOME": str(tmp_path)},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == (
            "error: RELEASE_ENVIRONMENT may only be sandbox (a tag deploys to its own environment)"
        )
