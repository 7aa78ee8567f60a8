"""Shared pieces of the deploy tests: the lock table, a deployable environment, fakes.

The pipeline-logic tests (tests/integration/deploy/test_pipeline.py: lock contention,
interrupts, resume, smoke-check failure, rollback choice) replace the images, Terraform and
Batch steps with RECORDING FAKES, named as such, so that each of those cases does not cost a
Docker build and a Terraform run. Those three steps are proven on the real engine, registry,
Terraform and moto Batch in tests/acceptance/deploy/test_deploy_end_to_end.py. Migrate, the
restart of the REAL foreman over a real sshd, the smoke check and the audit log are real here.
"""

from __future__ import annotations

import shlex
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from common.environments import REPO_ROOT, Environment
from ops.deploy.steps import Step, StepContext
from tests.support.sshd import SshServer


def create_lock_table(endpoint_url: str, name: str | None = None) -> str:
    """A DynamoDB table shaped like Terraform's S3-backend lock table (hash key LockID)."""
    name = name or f"locks-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint_url)
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


FAKE_REGISTRY = "registry.fake.invalid/refinery"
# The sandbox's ProxyCommand, as in infrastructure/environments/sandbox.toml.
WAY_IN_STAND_IN = (
    "{python} {repo}/ops/sandbox/open_tunnel.py --instance-id {host} --remote-port {port}"
)


def foreman_restart_command(env_dir: Path, state_dir: Path, run_dir: Path) -> str:
    """The restart command of the test host: restarts the real foreman through its pid file."""
    parts = [
        f"cd {shlex.quote(str(REPO_ROOT))} &&",
        f"REFINERY_ENVIRONMENTS_DIR={shlex.quote(str(env_dir))}",
        f"REFINERY_STATE_DIR={shlex.quote(str(state_dir))}",
        shlex.quote(sys.executable),
        "-m tests.support.foreman_service restart",
        f"--pid-file {shlex.quote(str(run_dir / 'foreman.pid'))}",
        f"--log {shlex.quote(str(run_dir / 'foreman.log'))}",
        "--env {environment} --version {version}",
    ]
    return " ".join(parts)


def deploy_sections(
    *,
    endpoint_url: str,
    lock_table: str,
    ssh: SshServer,
    restart_command: str,
    extra_hosts: tuple[str, ...] = (),
    lease_seconds: float = 30,
    smoke_timeout_seconds: float = 15,
    through_way_in: bool = False,
) -> dict[str, dict[str, Any]]:
    """Environment-file sections for a deployable test environment; `through_way_in` reaches
    the host the way staging does, through a ProxyCommand (the sandbox's stand-in)."""
    way_in = (
        {"way_in": "instance_connect_endpoint", "proxy_command": WAY_IN_STAND_IN}
        if through_way_in
        else {}
    )
    return {
        "aws": {"region": "us-east-1", "endpoint_url": endpoint_url},
        "deploy": {
            "lock_table": lock_table,
            "lease_seconds": lease_seconds,
            "smoke_timeout_seconds": smoke_timeout_seconds,
        },
        "foreman": {"heartbeat_seconds": 0.5, "poll_seconds": 0.5, "takeover_seconds": 0.5},
        "foreman_host": {
            "hosts": [f"{ssh.host}:{ssh.port}", *extra_hosts],
            "user": ssh.user,
            "key_file": str(ssh.client_key),
            "restart_command": restart_command,
            "connect_timeout_seconds": 5,
            **way_in,
        },
    }


@dataclass
class FakeStepRecorder:
    """RECORDING FAKES of the images, Terraform and Batch steps (see the module docstring)."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    plan: dict[str, int] = field(default_factory=lambda: {"creates": 2, "updates": 1})

    def steps(self) -> dict[str, Step]:
        def images(ctx: StepContext) -> dict[str, Any]:
            self.calls.append(("images", ctx.version))
            image = f"{FAKE_REGISTRY}/workers:{ctx.version}"
            return {"pushed": [image], "worker_image": image}

        def infrastructure(ctx: StepContext) -> dict[str, Any]:
            self.calls.append(("infrastructure", ctx.version))
            counts = {
                k: self.plan.get(k, 0) for k in ("creates", "updates", "replaces", "destroys")
            }
            ctx.record.plan = counts
            ctx.scratch["outputs"] = {"job_queue": "fake-queue"}
            return {**counts, "applied": True}

        def job_definitions(ctx: StepContext) -> dict[str, Any]:
            image = ctx.facts["images"]["worker_image"]
            self.calls.append(("job_definitions", image))
            return {"image": image, "definitions": [f"fake-def:{ctx.version}"]}

        def preview(name: str):
            return lambda ctx: [f"fake {name} for {ctx.version}"]

        return {
            "images": Step("images", "fake: images", images, preview("images"), True),
            "infrastructure": Step(
                "infrastructure", "fake: terraform", infrastructure, preview("terraform")
            ),
            "job_definitions": Step(
                "job_definitions", "fake: batch", job_definitions, preview("batch")
            ),
        }

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def deployable_env(
    make_env, session_dirs, tmp_path, moto_server, ssh, *, restart_command=None, **kwargs
) -> tuple[Environment, Path]:
    """A `staging` test environment (lock table, sshd host) and its foreman's run folder."""
    table = create_lock_table(moto_server.endpoint_url)
    run_dir = tmp_path / "foreman-run"
    run_dir.mkdir(exist_ok=True)
    command = foreman_restart_command(session_dirs["environments"], session_dirs["state"], run_dir)
    sections = deploy_sections(
        endpoint_url=moto_server.endpoint_url,
        lock_table=table,
        ssh=ssh,
        restart_command=restart_command or command,
        **kwargs,
    )
    return make_env("staging", **sections), run_dir
