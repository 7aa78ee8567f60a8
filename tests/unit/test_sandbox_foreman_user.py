"""Who the sandbox's foreman container runs as: whoever owns the foreman host's state."""

from __future__ import annotations

import os

from ops.sandbox.foreman_host import state_owner


def test_as_root_the_image_user_runs_it(monkeypatch):
    # provision_host_state hands the state to the image's user
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert state_owner() is None


def test_as_another_user_that_user_runs_it(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1001)
    monkeypatch.setattr(os, "getuid", lambda: 1001)
    monkeypatch.setattr(os, "getgid", lambda: 1001)
    assert state_owner() == "1001:1001"
