"""Fixtures: real repositories and real keys (see tests/support/release_git.py)."""

from __future__ import annotations

import pytest

from tests.support.release_git import make_gpg_key, make_release_repos, make_ssh_key


@pytest.fixture
def repos(tmp_path, monkeypatch):
    for name, value in {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(name, value)
    return make_release_repos(tmp_path)


@pytest.fixture
def ssh_key(tmp_path):
    return make_ssh_key(tmp_path / "keys", "alice@example.org")


@pytest.fixture
def stranger_ssh_key(tmp_path):
    return make_ssh_key(tmp_path / "other-keys", "mallory@example.org")


@pytest.fixture(scope="module")
def gpg_key():
    key = make_gpg_key("Release Bot <bot@example.org>")
    yield key
    key.close()


@pytest.fixture(scope="module")
def stranger_gpg_key():
    key = make_gpg_key("Mallory <mallory@example.org>")
    yield key
    key.close()
