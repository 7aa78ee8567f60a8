"""`inv deploy` and `inv rollback` end to end, on real components only.

One `staging` environment for the whole module: a fresh, EMPTY database on the embedded
PostgreSQL (the deploy migrates it; its password reaches `inv` through REFINERY_DB_PASSWORD
and the foreman host through a 0600 file), an S3 lake, Terraform's state and locks, the deploy
lock and audit log and the Batch job definitions in the moto server, the null-provider test
stack (`infrastructure/stacks/sandbox`, copied so `terraform init` writes nothing into the
repository), images built by the real Docker engine on the locally made base OS image and
pushed to the real registry, and the REAL foreman (`python -m foreman run -e staging`)
restarted over the real sshd through a pid file. Every command is the `inv` program in a
subprocess, as an engineer or CI runs it.

The tests run in order and build on each other (first deploy, re-run, dry run, guarded
replacement, rollback); the last checks every output of the module for secrets.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import psycopg2
import pytest
import requests

from common import db
from common.environments import REPO_ROOT, load_environment
from common.errors import ExitCode
from foreman.migrations import all_migrations
from ops.batch.definitions import job_definition_name, pipelines
from tests.support import foreman_service
from tests.support.environments import write_environment
from tests.support.terraform import NULL_STACK, REGION, bootstrap_backend

pytestmark = pytest.mark.acceptance

AWS_SECRET = f"e2e-aws-secret-{uuid.uuid4().hex}"
TIERS = [1024, 2048]
SALMON_PIPELINES = {"index-salmon", "process-salmon"}  # the salmon image
AFFY_PIPELINES = {"process-affy"}  # the affy image (R); the rest, workers
NULL_RESOURCES = 10  # module blocks in the null stack, one null_resource each
DEPLOY_STEPS = [
    "images",
    "infrastructure",
    "job_definitions",
    "migrate",
    "restart_foreman",
    "smoke_check",
]


class Staging:
    """Everything the module's tests share: the environment, its services, every output."""

    def __init__(self, **values):
        self.__dict__.update(values)
        self.outputs: list[str] = []

    def inv(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.process_env,
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    def deploy(self, *args: str) -> subprocess.CompletedProcess:
        return self.inv("deploy", "-e", "staging", *args)

    def history(self) -> list[dict]:
        result = self.inv("deploy.history", "-e", "staging", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def active_definition(self, pipeline: str, tier: int) -> dict:
        """The newest ACTIVE revision of a job definition (what a submission by name runs)."""
        name = job_definition_name("staging", pipeline, tier)
        found = self.batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
        return max(found["jobDefinitions"], key=lambda item: item["revision"])

    def active_images(self) -> dict[str, set[str]]:
        """The images the newest ACTIVE definitions run, by pipeline (over every tier)."""
        return {
            pipeline: {
                self.active_definition(pipeline, tier)["containerProperties"]["image"]
                for tier in TIERS
            }
            for pipeline in self.pipelines
        }

    def release_images(self, version: str) -> dict[str, set[str]]:
        """What a release's definitions must run: the salmon pipelines the salmon image, RMA
        the affy image, every other pipeline the workers image, all of that version from the
        registry."""

        def image(pipeline: str) -> str:
            if pipeline in SALMON_PIPELINES:
                return "salmon"
            return "affy" if pipeline in AFFY_PIPELINES else "workers"

        return {
            pipeline: {f"{self.registry}/{image(pipeline)}:{version}"}
            for pipeline in self.pipelines
        }

    def revision_count(self) -> int:
        pages = self.batch.get_paginator("describe_job_definitions").paginate(status="ACTIVE")
        return sum(
            1
            for page in pages
            for item in page["jobDefinitions"]
            if item["jobDefinitionName"].startswith("refinery-staging-")
        )

    def registry_tags(self, name: str) -> list[str]:
        response = requests.get(f"http://{self.registry}/v2/{name}/tags/list", timeout=10)
        return sorted(response.json().get("tags") or []) if response.ok else []

    def state_object(self) -> bytes:
        body = self.s3.get_object(Bucket=self.backend.bucket, Key="staging/refinery.tfstate")
        return body["Body"].read()

    def heartbeats(self) -> list[tuple]:
        conn = psycopg2.connect(**self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pid, version, role, beat_at FROM foreman_heartbeats "
                    "WHERE role <> 'stopped' ORDER BY beat_at DESC"
                )
                return cur.fetchall()
        finally:
            conn.close()

    def set_stack_variables(self, **values: str) -> None:
        lines = ['environment = "staging"', *(f'{k} = "{v}"' for k, v in values.items())]
        self.tfvars.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def staging(
    session_dirs,
    postgres_template,
    moto_server,
    docker_engine,
    docker_registry,
    base_os_image,
    ssh_server,
    tmp_path_factory,
):
    work = tmp_path_factory.mktemp("deploy-e2e")
    # Terraform and the deploy reach only loopback: never the EC2 metadata service.
    metadata_before = os.environ.get("AWS_EC2_METADATA_DISABLED")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    cluster = db.embedded_cluster().address()
    database = f"deploy_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    db.create_database(load_environment("template"), database)  # empty: the deploy migrates it
    password_file = work / "db-password"
    password_file.touch(mode=0o600)
    password_file.write_text(cluster.password)
    credentials = work / "aws-credentials"  # the foreman host's credentials, a 0600 file
    credentials.touch(mode=0o600)
    credentials.write_text(
        f"[default]\naws_access_key_id = testing\naws_secret_access_key = {AWS_SECRET}\n"
    )

    backend = bootstrap_backend(moto_server.endpoint_url)
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name=REGION)
    s3.create_bucket(Bucket="refinery-staging-lake")
    stack = work / "stack"
    shutil.copytree(NULL_STACK, stack, ignore=shutil.ignore_patterns(".terraform*"))
    tfvars = work / "staging.tfvars"
    # A previous module's `staging` may have left a Terraform data folder for another backend.
    shutil.rmtree(Path(session_dirs["state"]) / "staging" / "terraform", ignore_errors=True)

    run_dir = work / "foreman-host"
    run_dir.mkdir()
    pid_file = run_dir / "foreman.pid"
    restart_command = " ".join(
        [
            f"cd {shlex.quote(str(REPO_ROOT))} &&",
            f"REFINERY_ENVIRONMENTS_DIR={shlex.quote(str(session_dirs['environments']))}",
            f"REFINERY_STATE_DIR={shlex.quote(str(session_dirs['state']))}",
            f"AWS_SHARED_CREDENTIALS_FILE={shlex.quote(str(credentials))}",
            "AWS_EC2_METADATA_DISABLED=true",
            shlex.quote(sys.executable),
            "-m tests.support.foreman_service restart",
            f"--pid-file {shlex.quote(str(pid_file))}",
            f"--log {shlex.quote(str(run_dir / 'foreman.log'))}",
            "--env {environment} --version {version}",
        ]
    )
    write_environment(
        session_dirs["environments"],
        "staging",
        {
            "database": {
                "kind": "dsn",
                "host": cluster.host,
                "port": cluster.port,
                "name": database,
                "user": cluster.user,
                "password_env": "REFINERY_DB_PASSWORD",
                "password_file": str(password_file),
                "sslmode": "disable",
            },
            "lake": {"backend": "s3", "bucket": "refinery-staging-lake"},
            "executor": {"kind": "batch", "memory_tiers_mb": TIERS},
            "logs": {"kind": "cloudwatch", "group": "/refinery/staging"},
            "aws": {"region": REGION, "endpoint_url": moto_server.endpoint_url},
            "foreman": {"heartbeat_seconds": 0.5, "poll_seconds": 0.5, "takeover_seconds": 0.5},
            "deploy": {"lease_seconds": 120, "smoke_timeout_seconds": 60},
            "images": {"registry": docker_registry.address, "base_image": base_os_image},
            "batch": {"keep_revisions": 5},
            "foreman_host": {
                "hosts": [f"{ssh_server.host}:{ssh_server.port}"],
                "user": ssh_server.user,
                "key_file": str(ssh_server.client_key),
                "restart_command": restart_command,
                "connect_timeout_seconds": 5,
                "command_timeout_seconds": 60,
            },
            "terraform": {
                "stack": str(stack),
                "var_file": str(tfvars),
                "plugin_dir": "bundled",
                "backend": {
                    "bucket": backend.bucket,
                    "key": "staging/refinery.tfstate",
                    "region": REGION,
                    "dynamodb_table": backend.lock_table,
                    "skip_credentials_validation": True,
                    "skip_metadata_api_check": True,
                    "skip_region_validation": True,
                },
            },
        },
    )
    process_env = {
        **os.environ,
        "REFINERY_DB_PASSWORD": cluster.password,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "COLUMNS": "200",  # rich tables wide enough to read resource addresses whole
    }
    state = Staging(
        process_env=process_env,
        registry=docker_registry.address,
        backend=backend,
        s3=s3,
        batch=boto3.client("batch", endpoint_url=moto_server.endpoint_url, region_name=REGION),
        # What `inv deploy` registers: the workers' own handlers, not those a test loaded here.
        pipelines=[name for name in pipelines() if not name.startswith("process-test_")],
        dsn={
            "host": cluster.host,
            "port": cluster.port,
            "user": cluster.user,
            "password": cluster.password,
            "dbname": database,
        },
        tfvars=tfvars,
        pid_file=pid_file,
        foreman_log=run_dir / "foreman.log",
        database_password=cluster.password,
    )
    state.set_stack_variables()
    try:
        yield state
    finally:
        foreman_service.stop(pid_file)  # the foreman the last deploy started, by its pid
        if metadata_before is None:
            os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
        else:
            os.environ["AWS_EC2_METADATA_DISABLED"] = metadata_before


def _foreman_pid(staging) -> int:
    pid = int(staging.pid_file.read_text())
    os.kill(pid, 0)  # raises if the foreman the deploy started is not running
    return pid


def test_first_deploy_builds_applies_registers_migrates_and_restarts(staging):
    result = staging.deploy("-v", "v1.2.3-dev")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "deploy v1.2.3-dev to staging: succeeded" in result.stdout

    # Images: built on the local base OS image, pushed to the real registry.
    for name in ("base", "foreman", "workers", "salmon", "affy"):
        assert staging.registry_tags(name) == ["v1.2.3-dev"], name
    # Batch: every pipeline × tier has an ACTIVE definition running this release's image.
    assert staging.active_images() == staging.release_images("v1.2.3-dev")
    # Terraform: the null stack's state sits in the S3 backend.
    state = json.loads(staging.state_object())
    assert len(state["resources"]) == NULL_RESOURCES
    # The empty database now has every migration.
    conn = psycopg2.connect(**staging.dsn)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM schema_migrations ORDER BY name")
        assert [row[0] for row in cur.fetchall()] == [m.name for m in all_migrations()]
    conn.close()
    # The real foreman runs (started over SSH), beats, and says which release it is.
    pid = _foreman_pid(staging)
    beats = staging.heartbeats()
    assert beats[0][0] == pid and beats[0][1] == "v1.2.3-dev"

    [record] = staging.history()
    assert record["outcome"] == "succeeded" and record["version"] == "v1.2.3-dev"
    assert record["steps_done"] == DEPLOY_STEPS
    assert record["plan"]["creates"] == NULL_RESOURCES
    assert record["plan"]["replaces"] == record["plan"]["destroys"] == 0
    assert record["facts"]["smoke_check"]["pid"] == pid
    assert record["facts"]["smoke_check"]["foreman_version"] == "v1.2.3-dev"
    assert record["facts"]["migrate"]["applied"] == [m.name for m in all_migrations()]
    assert record["facts"]["images"]["worker_image"] == f"{staging.registry}/workers:v1.2.3-dev"


def test_deploying_the_same_version_again_changes_nothing_but_the_foreman(staging):
    before = (staging.state_object(), staging.revision_count())
    old_pid = _foreman_pid(staging)
    result = staging.deploy("-v", "v1.2.3-dev")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    latest = staging.history()[0]
    assert latest["outcome"] == "succeeded"
    assert latest["plan"] == {
        "creates": 0,
        "updates": 0,
        "replaces": 0,
        "destroys": 0,
        "protected_changes": 0,
    }
    assert latest["facts"]["infrastructure"]["applied"] is False
    assert latest["facts"]["migrate"]["applied"] == []
    assert staging.state_object() == before[0]  # nothing applied
    # Job definitions are registered again (a new revision of the same image).
    assert staging.active_images() == staging.release_images("v1.2.3-dev")
    assert _foreman_pid(staging) != old_pid  # restarted, the old one stopped
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)


def test_dry_run_shows_the_plan_and_changes_nothing(staging):
    staging.set_stack_variables(vpc_cidr="10.41.0.0/16")  # a pending network replacement
    before = (
        staging.state_object(),
        staging.revision_count(),
        len(staging.history()),
        _foreman_pid(staging),
    )
    result = staging.deploy("-v", "v1.2.4-dev", "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "dry run: deploy v1.2.4-dev to staging (nothing changed)" in result.stdout
    assert "module.network.null_resource.this[0]" in result.stdout  # the plan, shown
    assert f"schema up to date ({len(all_migrations())} migrations applied)" in result.stdout
    assert f"{staging.registry}/workers:v1.2.4-dev" in result.stdout
    after = (
        staging.state_object(),
        staging.revision_count(),
        len(staging.history()),
        _foreman_pid(staging),
    )
    assert after == before
    assert staging.registry_tags("workers") == ["v1.2.3-dev"]  # nothing pushed
    staging.set_stack_variables()


def test_replacing_the_database_is_refused_by_name_until_allowed(staging):
    staging.set_stack_variables(database_identifier="refinery-staging-restored")
    state_before = staging.state_object()
    refused = staging.deploy("-v", "v1.2.4-dev")
    assert refused.returncode == ExitCode.REFUSED, refused.stdout[-3000:] + refused.stderr[-3000:]
    assert "failed at step infrastructure" in refused.stderr
    assert "module.database.null_resource.this[0]" in refused.stderr
    assert "--allow-destroy" in refused.stderr
    assert staging.state_object() == state_before
    assert staging.active_images() == staging.release_images("v1.2.3-dev")
    failed = staging.history()[0]
    assert failed["outcome"] == "failed" and failed["steps_done"] == ["images"]
    assert failed["plan"]["replaces"] == 1 and failed["plan"]["protected_changes"] == 1

    allowed = staging.deploy("-v", "v1.2.4-dev", "--allow-destroy")
    assert allowed.returncode == 0, allowed.stdout[-3000:] + allowed.stderr[-3000:]
    record = staging.history()[0]
    assert record["outcome"] == "succeeded" and record["resumed_from"] == failed["deploy_id"]
    assert record["plan"]["replaces"] >= 1
    state = json.loads(staging.state_object())
    assert "refinery-staging-restored" in json.dumps(state["outputs"]["database_endpoint"])
    assert staging.active_images() == staging.release_images("v1.2.4-dev")
    assert staging.heartbeats()[0][1] == "v1.2.4-dev"


def test_rollback_returns_job_definitions_and_foreman_to_the_previous_release(staging):
    result = staging.inv("rollback", "-e", "staging")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert staging.active_images() == staging.release_images("v1.2.3-dev")
    pid = _foreman_pid(staging)
    assert staging.heartbeats()[0][:2] == (pid, "v1.2.3-dev")
    record = staging.history()[0]
    assert record["action"] == "rollback" and record["outcome"] == "succeeded"
    assert (record["version"], record["rolled_back_from"]) == ("v1.2.3-dev", "v1.2.4-dev")
    table = staging.inv("deploy.history", "-e", "staging")
    assert "rollback from v1.2.4-dev" in table.stdout


def test_no_secret_appears_in_any_output(staging):
    assert len(staging.outputs) >= 20  # every inv run of this module was captured
    texts = [*staging.outputs, staging.foreman_log.read_text()]
    for text in texts:
        assert staging.database_password not in text
        assert AWS_SECRET not in text
