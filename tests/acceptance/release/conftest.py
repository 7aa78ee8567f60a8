"""Fixtures: real repositories and real keys (see tests/support/release_git.py)."""

from tests.integration.release.conftest import gpg_key, repos, ssh_key  # noqa: F401
