"""The sandbox's stand-in for the awslogs log driver, on the real Docker engine and the AWS
emulator over HTTP: a container's output reaches the stack's log group, where `inv logs` reads
it, while the container runs and up to its last line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import boto3
import docker
import pytest

from common.environments import REPO_ROOT, load_environment
from ops.sandbox.foreman_host import provision_host_state
from ops.sandbox.log_follower import stream_name
from tests.support.environments import write_environment
from tests.support.foreman import wait_until

pytestmark = pytest.mark.integration

# The second line is printed after a pause, the last one only as the container is stopped.
SCRIPT = (
    "trap 'echo shutting down; exit 0' TERM; echo '[bold]first[/bold]'; echo second; sleep 2;"
    " echo third; while true; do sleep 1; done"
)


@pytest.fixture
def follow_env(session_dirs, moto_server):
    """An environment of its own (the emulator serves the whole session), its group in `extra`."""
    name = f"follow{uuid.uuid4().hex[:6]}"
    group = f"/refinery/{name}"
    write_environment(
        session_dirs["environments"],
        name,
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "lake"},
            "executor": {"kind": "batch"},
            "aws": {"endpoint_url": moto_server.endpoint_url},
            "logs": {"kind": "cloudwatch", "group": group},
        },
    )
    env = load_environment(name)
    provision_host_state(env, {"log_group_name": group})
    return env


@pytest.fixture
def container(docker_engine, base_os_image):
    engine = docker.from_env()
    started = engine.containers.run(base_os_image, ["sh", "-c", SCRIPT], detach=True)
    yield started
    started.remove(force=True)
    engine.close()


def _follower(env, container_id: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.sandbox.log_follower", "-e", env.name, container_id],
        cwd=REPO_ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def _events(env) -> list[dict]:
    logs = boto3.client("logs")
    try:
        return logs.get_log_events(
            logGroupName=env.logs["group"], logStreamName=stream_name(), startFromHead=True
        )["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []


def _messages(env) -> list[str]:
    return [event["message"] for event in _events(env)]


def _inv_logs(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "logs", "-e", env.name, *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_containers_lines_reach_its_stream_as_they_come_and_its_last_one_as_it_stops(
    follow_env, container
):
    follower = _follower(follow_env, container.id)
    try:
        # Lines are sent while the container runs (a batch a second), not only at its end.
        wait_until(lambda: "third" in _messages(follow_env), timeout=30, what="the third line sent")
        assert _messages(follow_env) == ["[bold]first[/bold]", "second", "third"]
        assert follower.poll() is None
        shown = _inv_logs(follow_env, "--filter", "second")
        assert shown.returncode == 0, shown.stderr
        assert "second" in shown.stdout and "third" not in shown.stdout

        container.stop(timeout=10)  # its stream ends: the follower sends the rest and exits
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            os.killpg(follower.pid, signal.SIGKILL)
            follower.wait()
    assert _messages(follow_env) == ["[bold]first[/bold]", "second", "third", "shutting down"]
    assert (
        follower.stdout.read()
        .strip()
        .endswith(f"4 lines of {container.id[:12]} sent to {follow_env.logs['group']}")
    )
    # The stream's events carry the container's own times, in order.
    stamps = [event["timestamp"] for event in _events(follow_env)]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 2000  # the script's pause


def test_sigterm_sends_what_was_read_and_stops_the_follower(follow_env, container):
    follower = _follower(follow_env, container.id)
    try:
        wait_until(
            lambda: "second" in _messages(follow_env), timeout=30, what="the first lines sent"
        )
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=15) == 0
    finally:
        if follower.poll() is None:
            os.killpg(follower.pid, signal.SIGKILL)
            follower.wait()
    assert container.reload() is None and container.status == "running"  # not the container
    assert _messages(follow_env)[:2] == ["[bold]first[/bold]", "second"]
