"""On-call's buttons through `inv`, the way staging goes: `inv foreman.restart` and `inv
foreman.status` reach the host through a ProxyCommand (the sandbox's stand-in for `aws
ec2-instance-connect open-tunnel`) and a real sshd, and restart the REAL foreman there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common.environments import REPO_ROOT
from tests.support import foreman_service
from tests.support.deploy import deployable_env

pytestmark = pytest.mark.integration


def _inv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


@pytest.fixture
def oncall_env(make_env, session_dirs, tmp_path, moto_server, ssh_server):
    env, run_dir = deployable_env(
        make_env, session_dirs, tmp_path, moto_server, ssh_server, through_way_in=True
    )
    yield env
    foreman_service.stop(run_dir / "foreman.pid")


@pytest.mark.slow
def test_status_and_restart_through_the_way_in(oncall_env):
    env = oncall_env.name
    # Nothing has run yet: no version to restart at, said in one line.
    first = _inv("foreman.restart", "-e", env)
    assert first.returncode != 0
    assert first.stderr.startswith("error: ") and "-v VERSION" in first.stderr
    assert "Traceback" not in first.stderr

    started = _inv("foreman.restart", "-e", env, "-v", "v2.0.0-dev")
    assert started.returncode == 0, started.stderr
    assert "restarted v2.0.0-dev on 127.0.0.1:" in started.stdout

    status = _inv("foreman.status", "-e", env, "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["way_in"] == "instance_connect_endpoint"
    [leader] = [f for f in report["foremen"] if f["role"] == "leader"]
    assert leader["version"] == "v2.0.0-dev" and leader["hostname"] and leader["pid"] > 0
    assert leader["age_seconds"] < 30

    # Without -v the release running now is restarted: a new foreman, same version.
    again = _inv("foreman.restart", "-e", env)
    assert again.returncode == 0, again.stderr
    table = _inv("foreman.status", "-e", env)
    assert table.returncode == 0 and "v2.0.0-dev" in table.stdout and "leader" in table.stdout
    after = json.loads(_inv("foreman.status", "-e", env, "--json").stdout)
    live = [f for f in after["foremen"] if f["role"] == "leader"]
    assert live and live[0]["foreman_id"] != leader["foreman_id"]
    assert live[0]["version"] == "v2.0.0-dev"


@pytest.mark.slow
def test_a_way_in_that_cannot_reach_the_host_fails_in_one_line(
    make_env, session_dirs, tmp_path, moto_server, ssh_server
):
    env, run_dir = deployable_env(
        make_env, session_dirs, tmp_path, moto_server, ssh_server, through_way_in=True,
        extra_hosts=("10.0.0.9:22",),  # not loopback: the stand-in refuses it, as AWS would
    )  # fmt: skip
    try:
        result = _inv("foreman.restart", "-e", env.name, "-v", "v2.0.0-dev")
    finally:
        foreman_service.stop(run_dir / "foreman.pid")  # the reachable host did restart
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: foreman restart failed on 1 of 2 host(s)")
    assert "10.0.0.9:22" in last and "Traceback" not in result.stderr
    # what the way in said, not a bare SSH error
    assert "the way in said: error: the sandbox tunnels to 127.0.0.1 only" in last
