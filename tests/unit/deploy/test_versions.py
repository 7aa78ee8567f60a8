from __future__ import annotations

import subprocess

import pytest

from ops.release.errors import ReleaseError, VersionRuleError
from ops.release.versions import (
    check_version_for_environment,
    environment_for_version,
    version_at_head,
)


@pytest.mark.parametrize(
    ("version", "environment"),
    [
        ("v1.2.3-dev", "staging"),
        ("v0.10.0-dev", "staging"),
        ("v1.2.3", "prod"),
        ("v10.0.1", "prod"),
    ],
)
def test_release_tags_map_to_their_environment(version, environment):
    assert environment_for_version(version) == environment
    check_version_for_environment(version, environment)


@pytest.mark.parametrize("version", ["1.2.3", "v1.2", "v1.2.3-rc1", "v01.2.3", "latest", ""])
def test_anything_else_is_refused_with_the_rule(version):
    with pytest.raises(VersionRuleError, match=r"vX\.Y\.Z-dev deploys only to staging"):
        environment_for_version(version)


def test_dev_build_is_refused_for_prod_and_release_for_staging():
    with pytest.raises(VersionRuleError, match="deploys only to staging, not prod"):
        check_version_for_environment("v1.2.3-dev", "prod")
    with pytest.raises(VersionRuleError, match="deploys only to prod, not staging"):
        check_version_for_environment("v1.2.3", "staging")
    with pytest.raises(VersionRuleError, match="not local"):
        check_version_for_environment("v1.2.3-dev", "local")


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    _git(
        tmp_path,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    return tmp_path


def test_default_version_is_the_tag_at_head_for_that_environment(repo):
    _git(repo, "tag", "v2.0.0-dev")
    _git(repo, "tag", "v2.0.0")
    assert version_at_head(repo, "staging") == "v2.0.0-dev"
    assert version_at_head(repo, "prod") == "v2.0.0"


def test_untagged_head_says_how_to_pass_the_version(repo):
    with pytest.raises(ReleaseError, match=r"pass the version with -v v1\.2\.3-dev"):
        version_at_head(repo, "staging")


def test_tag_for_the_other_environment_only_is_refused(repo):
    _git(repo, "tag", "v2.0.0-dev")
    with pytest.raises(VersionRuleError, match="may deploy to prod"):
        version_at_head(repo, "prod")
