"""`as_root`: what needs root by nature runs as root, through `sudo -n` when we are not root,
and a user without passwordless sudo is told so before anything runs."""

from __future__ import annotations

import os

import pytest

from common import shell
from common.errors import CommandError


def _sudo_answering(folder, monkeypatch, exit_code: int) -> None:
    """A `sudo` on PATH that answers `sudo -n true` with `exit_code` (the outer boundary)."""
    folder.mkdir()
    sudo = folder / "sudo"
    sudo.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    sudo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)


def test_root_runs_the_command_itself(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert shell.as_root(["dockerd", "--iptables=false"]) == ["dockerd", "--iptables=false"]


def test_a_user_with_passwordless_sudo_runs_it_through_sudo_n(tmp_path, monkeypatch):
    _sudo_answering(tmp_path / "bin", monkeypatch, 0)
    assert shell.as_root(["debootstrap", "bookworm"]) == ["sudo", "-n", "debootstrap", "bookworm"]


def test_a_user_without_passwordless_sudo_gets_one_line_naming_the_command(tmp_path, monkeypatch):
    _sudo_answering(tmp_path / "bin", monkeypatch, 1)
    with pytest.raises(CommandError, match=r"^dockerd needs root: run as root or as a user with"):
        shell.as_root(["/usr/sbin/dockerd"])


def test_system_programs_are_found_off_a_users_path(monkeypatch):
    """dockerd and debootstrap live in /usr/sbin, which only root's PATH holds."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shell.find_program("dockerd") == "/usr/sbin/dockerd"
    assert shell.find_program("no-such-program-here") is None
