"""The AWS API emulator (a moto server) and the AWS resources a stack's outputs name.

`moto_server` serves S3, Batch, CloudWatch Logs, DynamoDB, ECR, Secrets Manager and IAM on
one loopback port. Its Batch runs each job as a container on the local Docker engine, on the
host's network (`MOTO_DOCKER_NETWORK_MODE=host`), so jobs reach loopback services.

`create_state_backend` bootstraps what Terraform's S3 backend needs before the first init
(a state bucket and lock table, as an operator does once per AWS account).
`create_stack_resources` then creates, on the emulator, what the AWS provider would have
created for the stack's outputs — the buckets, the Batch job queues with their compute
environments, the log groups and the database's master secret — because the sandbox's
stack runs on the null provider. Both are idempotent.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

from common.environments import Environment
from common.errors import ConfigError
from ops.sandbox.processes import SandboxError, spawn, stop_process, wait_for_port

# The emulator accepts any credentials; these name themselves so nobody mistakes them.
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}
BATCH_LOG_GROUP = "/aws/batch/job"


@dataclass
class MotoServer:
    """A moto server (the AWS emulator) on loopback."""

    endpoint_url: str
    process: Any
    log_file: Path | None = None  # its output: a Batch container it failed to run is named there

    def reset(self) -> None:
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)


def moto_server_program() -> Path:
    """The `moto_server` script of this Python's environment (the `sandbox` extra)."""
    return Path(sys.executable).with_name("moto_server")


def start_moto(log_dir: Path, *, port: int) -> MotoServer:
    """Start `moto_server` on 127.0.0.1:`port`, Batch jobs on the host network."""
    program = moto_server_program()
    if not program.exists():
        raise SandboxError(
            f"moto_server not found next to {sys.executable}: install the sandbox extra "
            "(inv sandbox.up installs it)"
        )
    environment = {**os.environ, "MOTO_DOCKER_NETWORK_MODE": "host"}
    log_file = log_dir / "moto.log"
    process = spawn(
        [program, "-H", "127.0.0.1", "-p", str(port)], log_file=log_file, env=environment
    )
    try:
        wait_for_port(port, timeout=30, process=process)
    except SandboxError as exc:
        stop_process(process)
        raise SandboxError(f"the AWS emulator did not start ({exc}); see {log_file}") from None
    return MotoServer(f"http://127.0.0.1:{port}", process, log_file)


def emulator_port(env: Environment) -> int:
    """The loopback port of `[aws] endpoint_url` (the sandbox's emulator)."""
    url = urlparse(env.aws.endpoint_url or "")
    if url.hostname not in ("127.0.0.1", "localhost") or not url.port:
        raise ConfigError(
            f"{env.path}: aws.endpoint_url must be http://127.0.0.1:<port> for a sandbox"
        )
    return url.port


def client(env: Environment, service: str) -> Any:
    # The stubs type boto3.client per literal service name; a name chosen at run time matches none.
    return boto3.client(service, region_name=env.aws.region, endpoint_url=env.aws.endpoint_url)  # type: ignore[call-overload]


def create_state_backend(env: Environment, backend: Mapping[str, Any]) -> None:
    """The Terraform state bucket and lock table named by `[terraform.backend]`."""
    _bucket(client(env, "s3"), str(backend["bucket"]))
    dynamodb = client(env, "dynamodb")
    try:
        dynamodb.create_table(
            TableName=str(backend["dynamodb_table"]),
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise


def create_stack_resources(env: Environment, outputs: Mapping[str, Any], password: str) -> None:
    """What the AWS provider would have made for `outputs`, made on the emulator."""
    s3 = client(env, "s3")
    for key in ("lake_bucket", "backup_bucket"):
        _bucket(s3, str(outputs[key]))
    logs = client(env, "logs")
    for group in (str(outputs["log_group_name"]), BATCH_LOG_GROUP):
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
    _master_secret(env, str(outputs["database_master_secret_arn"]), outputs, password)
    _batch_queues(env, dict(outputs["batch_job_queues"]))


def _bucket(s3: Any, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _master_secret(env: Environment, arn: str, outputs: Mapping[str, Any], password: str) -> None:
    """The RDS-managed master secret's shape: JSON with username and password."""
    name = arn.split(":secret:", 1)[1]
    value = json.dumps({"username": str(outputs["database_username"]), "password": password})
    secrets = client(env, "secretsmanager")
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
        secrets.put_secret_value(SecretId=name, SecretString=value)


def _batch_queues(env: Environment, queues: Mapping[str, str]) -> None:
    """One compute environment and job queue per worker pool, as modules/batch makes them."""
    batch = client(env, "batch")
    existing = {item["jobQueueName"] for item in batch.describe_job_queues().get("jobQueues", [])}
    missing = {pool: name for pool, name in queues.items() if name not in existing}
    if not missing:
        return
    iam = client(env, "iam")
    role_name = f"refinery-{env.name}-batch-service"
    try:
        role = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except ClientError:
        role = iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
    environments = {
        item["computeEnvironmentName"]
        for item in batch.describe_compute_environments().get("computeEnvironments", [])
    }
    for name in missing.values():
        compute = f"{name}-compute"
        if compute not in environments:
            # UNMANAGED: the emulator runs the containers itself on the local engine.
            batch.create_compute_environment(
                computeEnvironmentName=compute, type="UNMANAGED", state="ENABLED", serviceRole=role
            )
        batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
        )
