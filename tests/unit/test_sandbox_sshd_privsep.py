"""The sandbox's sshd as root and as a user: only root's sshd needs /run/sshd made for it."""

from __future__ import annotations

import os
from pathlib import Path

from ops.sandbox.sshd import privilege_separation_dir_needed


def test_as_root_sshd_gets_its_privilege_separation_folder(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert privilege_separation_dir_needed() == Path("/run/sshd")


def test_as_a_user_sshd_needs_no_folder_in_run(monkeypatch):
    # A user cannot create /run/sshd (it is gone after a reboot) and the user's sshd,
    # which does not separate privileges, never looks for it.
    monkeypatch.setattr(os, "geteuid", lambda: 1001)
    assert privilege_separation_dir_needed() is None
