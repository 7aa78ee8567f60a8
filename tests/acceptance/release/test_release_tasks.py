"""`inv release.*` end to end: real inv in a real clone, keys configured as an engineer would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from common.errors import ExitCode

pytestmark = pytest.mark.acceptance
INV = Path(sys.executable).with_name("inv")


def inv(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`inv` as run from inside a checkout of the released repository."""
    return subprocess.run(
        [str(INV), "--search-root", str(REPO_ROOT), *args],
        cwd=cwd, env={**os.environ, "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def configure_signing(repos, key) -> None:
    for option in key.sign_config()[1::2]:
        name, value = option.split("=", 1)
        repos.git("config", name, value)


def test_verify_prints_who_signed_and_refuses_in_one_line(repos, ssh_key, tmp_path):
    repos.trust(ssh=[ssh_key])
    repos.sign_tag(ssh_key, "v1.0.0-dev", "dev")
    repos.git("tag", "-a", "-m", "unsigned", "v1.0.0", "main")
    repos.git("push", "-q", "origin", "v1.0.0")
    checkout = repos.clone(tmp_path / "ci")

    good = inv(checkout, "release.verify", "v1.0.0-dev", "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["environment"] == "staging"

    bad = inv(checkout, "release.verify", "v1.0.0")
    assert bad.returncode == ExitCode.REFUSED
    assert bad.stderr.strip() == "error: refused v1.0.0: the tag is not signed (git tag -s)"


def test_next_prints_then_creates_a_signed_verified_tag_and_pushes_it(repos, ssh_key):
    repos.trust(ssh=[ssh_key])
    repos.sign_tag(ssh_key, "v0.3.4-dev", "dev")
    repos.sign_tag(ssh_key, "v0.3.1", "main")
    configure_signing(repos, ssh_key)
    repos.git("switch", "-q", "dev")

    assert inv(repos.work, "release.next", "-e", "staging").stdout.strip() == "v0.3.5-dev"
    created = inv(repos.work, "release.next", "-e", "staging", "--tag", "--push")
    assert created.returncode == 0, created.stderr
    assert "v0.3.5-dev: signed (ssh) by alice@example.org" in created.stdout
    remote_tags = repos.git("ls-remote", "--tags", str(repos.origin))
    assert "refs/tags/v0.3.5-dev" in remote_tags


def test_next_refuses_and_deletes_a_tag_on_the_wrong_branch(repos, ssh_key):
    repos.trust(ssh=[ssh_key])
    configure_signing(repos, ssh_key)
    repos.commit("dev", "not yet released")  # HEAD is on dev, not on main

    result = inv(repos.work, "release.next", "-e", "prod", "--tag", "--push")

    assert result.returncode == ExitCode.REFUSED and "which is not on origin/main" in result.stderr
    assert repos.git("tag", "--list", "v0.1.0") == ""
    assert "v0.1.0" not in repos.git("ls-remote", "--tags", str(repos.origin))


def test_hotfix_starts_from_the_last_production_release_and_tags_through_verify(repos, ssh_key):
    repos.trust(ssh=[ssh_key])
    configure_signing(repos, ssh_key)
    released = repos.git("rev-parse", "main")
    repos.sign_tag(ssh_key, "v1.4.0", released)
    repos.commit("dev", "next line")
    repos.sign_tag(ssh_key, "v1.5.0-dev", "dev")

    shown = inv(repos.work, "release.hotfix")
    assert "hot fix: v1.4.1; would create (--start)" in shown.stdout, shown.stderr
    started = inv(repos.work, "release.hotfix", "--start")
    assert started.returncode == 0, started.stderr
    assert repos.git("rev-parse", "hotfix/v1.4.1") == released

    repos.git("switch", "-q", "hotfix/v1.4.1")
    repos.git("commit", "-q", "--allow-empty", "-m", "the fix")
    repos.git("switch", "-q", "main")
    repos.git("merge", "-q", "--ff-only", "hotfix/v1.4.1")
    repos.git("push", "-q", "origin", "main")

    tagged = inv(repos.work, "release.hotfix", "--tag", "--push")
    assert tagged.returncode == 0, tagged.stderr
    assert "v1.4.1: signed (ssh)" in tagged.stdout and "deploys to prod" in tagged.stdout
    assert repos.git("rev-parse", "v1.4.1^{commit}") == repos.git("rev-parse", "main")


def test_a_production_tag_is_verified_without_the_development_branch(repos, ssh_key, tmp_path):
    """Only the tag's own environment branch is consulted: a remote (or a CI clone) without
    `dev` verifies a production tag."""
    repos.trust(ssh=[ssh_key])
    repos.sign_tag(ssh_key, "v1.0.0", "main")
    repos.git("push", "-q", "origin", "--delete", "dev")
    checkout = repos.clone(tmp_path / "ci")
    assert "origin/dev" not in repos.git("-C", str(checkout), "branch", "-r")

    good = inv(checkout, "release.verify", "v1.0.0", "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["environment"] == "prod"
