"""Pytest fixtures for the deploy tests (imported by their conftest files)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import pytest

from tests.support.deploy import StandInRecorder, deployable_env
from tests.support.sshd import SshServer, start_sshd, stop_sshd


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 accepting a generated client key."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    stop_sshd(server)


@pytest.fixture
def standins() -> StandInRecorder:
    """Stand-ins for the images, Terraform and Batch steps (other areas' modules)."""
    return StandInRecorder()


@pytest.fixture
def deploy_env(make_env, session_dirs, tmp_path, moto_server, ssh_server):
    """A deployable `staging` environment; the stand-in foreman is stopped afterwards."""
    env, run_dir = deployable_env(make_env, session_dirs, tmp_path, moto_server, ssh_server)
    yield env
    stop_standin_foreman(run_dir)


@pytest.fixture
def make_deploy_env(make_env, session_dirs, tmp_path, moto_server, ssh_server):
    """Factory for deployable environments with overridden deploy settings."""
    run_dirs = []

    def factory(**kwargs):
        env, run_dir = deployable_env(
            make_env, session_dirs, tmp_path, moto_server, ssh_server, **kwargs
        )
        run_dirs.append(run_dir)
        return env

    yield factory
    for run_dir in run_dirs:
        stop_standin_foreman(run_dir)


def stop_standin_foreman(run_dir) -> None:
    pid_file = run_dir / "foreman.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
