"""The tag workflow's steps on this machine, through the script the workflow runs.

A repository made from this one (its committed tree) is pushed to a bare remote on disk with
`main` (protected: it lists the test's SSH key as an allowed signer) and `dev`. A signed
`-dev` tag goes through `scripts/release-ci.sh verify` and `deploy` in a fresh checkout at the
tag, as the workflow's jobs do, and ends in a real `inv deploy` to the deploy acceptance's
stand-ins (the `staging` environment of tests/acceptance/deploy/test_deploy_end_to_end.py:
real PostgreSQL, moto, Terraform on the null stack, Docker engine and registry, sshd and the
real foreman). The workflow's middle step, `scripts/release-ci.sh test`, is `scripts/ci-test.sh`
— this suite — so it is not run from inside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from common.errors import ExitCode
from tests.acceptance.deploy.test_deploy_end_to_end import staging  # noqa: F401 - fixture
from tests.support.release_git import ReleaseRepos, make_ssh_key, run

pytestmark = pytest.mark.acceptance


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> tuple[ReleaseRepos, object]:
    """This repository's committed tree on a bare remote, `main` trusting one SSH key."""
    root = tmp_path_factory.mktemp("release-ci")
    origin = root / "origin.git"
    run("git", "init", "-q", "--bare", "-b", "main", origin)
    work = root / "work"
    run("git", "clone", "-q", "--no-hardlinks", "--single-branch", "--no-tags", REPO_ROOT, work)
    repos = ReleaseRepos(origin, work)
    repos.git("switch", "-q", "-C", "main")  # whatever branch the clone was made from
    repos.git("remote", "set-url", "origin", str(origin))
    key = make_ssh_key(root / "keys", "release-manager@example.org")
    repos.commit("main", "trust the release manager's key", {
        "infrastructure/release/allowed_signers": key.allowed_signers_line,
    })  # fmt: skip
    repos.commit("dev", "start of dev")
    return repos, key


def release_ci(checkout: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # The workflow bootstraps the virtual environment first; this one stands for it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.environ['PATH'])}"
    return subprocess.run(
        [str(checkout / "scripts/release-ci.sh"), *args],
        cwd=checkout, env={**env, "PATH": path}, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip


def ci_checkout(repos: ReleaseRepos, folder: Path, tag: str) -> Path:
    """What actions/checkout makes of a tag push: a clone, detached at the tag."""
    repos.clone(folder)
    repos.git("checkout", "-q", tag, cwd=folder)
    return folder


def test_an_unsigned_tag_stops_at_verify_and_deploys_nothing(released, staging, tmp_path):  # noqa: F811
    repos, _ = released
    repos.git("tag", "-a", "-m", "unsigned", "v1.2.4-dev", "dev")
    repos.git("push", "-q", "origin", "v1.2.4-dev")
    checkout = ci_checkout(repos, tmp_path / "ci", "v1.2.4-dev")
    before = staging.history()

    verify = release_ci(checkout, staging.process_env, "verify", "v1.2.4-dev")
    deploy = release_ci(checkout, staging.process_env, "deploy", "v1.2.4-dev")

    for result in (verify, deploy):
        assert result.returncode == ExitCode.REFUSED, result.stderr
        assert "refused v1.2.4-dev: the tag is not signed" in result.stderr
    assert staging.history() == before


def test_a_signed_dev_tag_is_verified_and_deployed_to_staging(released, staging, tmp_path):  # noqa: F811
    repos, key = released
    repos.sign_tag(key, "v1.2.3-dev", "dev")
    checkout = ci_checkout(repos, tmp_path / "ci", "v1.2.3-dev")
    github_output = tmp_path / "github-output"
    env = {**staging.process_env, "GITHUB_OUTPUT": str(github_output)}

    verify = release_ci(checkout, env, "verify", "v1.2.3-dev")
    assert verify.returncode == 0, verify.stderr
    assert "signed (ssh) by release-manager@example.org" in verify.stderr
    assert github_output.read_text() == "environment=staging\n"

    deploy = release_ci(checkout, env, "deploy", "v1.2.3-dev")
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    assert "deploy v1.2.3-dev to staging: succeeded" in deploy.stdout
    latest = staging.history()[0]
    assert (latest["version"], latest["outcome"]) == ("v1.2.3-dev", "succeeded")
    assert "v1.2.3-dev" in staging.registry_tags("workers")  # (other tests may push more)
    assert staging.database_password not in deploy.stdout + deploy.stderr
