"""Pytest fixtures for the deploy tests (imported by their conftest files)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import foreman_service
from tests.support.deploy import FakeStepRecorder, deployable_env
from tests.support.sshd import SshServer, start_sshd, stop_sshd


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 accepting a generated client key."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    stop_sshd(server)


@pytest.fixture
def fake_steps(monkeypatch) -> FakeStepRecorder:
    """Recording fakes of the images, Terraform and Batch steps (pipeline-logic tests only),
    put in the step table for this test (the deploy takes no steps of a caller's)."""
    from ops.deploy import steps

    recorder = FakeStepRecorder()
    for name, step in recorder.steps().items():
        monkeypatch.setitem(steps.STEP_TABLE, name, step)
    return recorder


@pytest.fixture
def deploy_env(make_env, session_dirs, tmp_path, moto_server, ssh_server):
    """A deployable `staging` environment; the foreman it starts is stopped afterwards."""
    env, run_dir = deployable_env(make_env, session_dirs, tmp_path, moto_server, ssh_server)
    yield env
    foreman_service.stop(run_dir / "foreman.pid")


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
        foreman_service.stop(run_dir / "foreman.pid")
