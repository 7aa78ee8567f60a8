"""Fixtures: real repositories and real keys (see tests/support/release_git.py), and the
deploy acceptance's sshd for the deploy that ends the tag workflow's steps."""

from tests.integration.release.conftest import gpg_key, repos, ssh_key  # noqa: F401
from tests.support.deploy_fixtures import ssh_server  # noqa: F401
