"""Terraform test environments: the null stack, state in moto S3, locks in moto DynamoDB.

Each test gets its own state bucket and lock table (created with boto3, as an operator would
bootstrap them), its own copy of `infrastructure/stacks/sandbox` (so `terraform init` never
writes into the repository), and an environment file shaped like staging's whose
`[terraform]` section points at all of that.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from common.environments import REPO_ROOT, Environment, load_environment
from tests.support.environments import toml_value, write_environment

NULL_STACK = REPO_ROOT / "infrastructure/stacks/sandbox"
REGION = "us-east-1"


@dataclass
class StateBackend:
    """A bootstrapped state bucket and lock table in the moto server."""

    endpoint_url: str
    bucket: str
    lock_table: str

    def s3(self):
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION)

    def dynamodb(self):
        return boto3.client("dynamodb", endpoint_url=self.endpoint_url, region_name=REGION)


@dataclass
class TerraformTestEnv:
    """An environment whose stack is a private copy of the null stack."""

    name: str
    tfvars: Path
    backend: StateBackend
    state_key: str

    @property
    def env(self) -> Environment:
        return load_environment(self.name)

    @property
    def lock_id(self) -> str:
        """The DynamoDB item name Terraform's s3 backend locks this state with."""
        return f"{self.backend.bucket}/{self.state_key}"

    def set_variables(self, **values: Any) -> None:
        lines = [f"environment = {toml_value(self.name)}"]
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        self.tfvars.write_text("\n".join(lines) + "\n")


def bootstrap_backend(endpoint_url: str) -> StateBackend:
    suffix = uuid.uuid4().hex[:10]
    backend = StateBackend(endpoint_url, f"tfstate-{suffix}", f"tflocks-{suffix}")
    backend.s3().create_bucket(Bucket=backend.bucket)
    backend.dynamodb().create_table(
        TableName=backend.lock_table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return backend


def make_terraform_env(
    environments_dir: Path,
    work_dir: Path,
    backend: StateBackend,
    *,
    protected: tuple[str, ...] = (),
) -> TerraformTestEnv:
    name = f"tf-{uuid.uuid4().hex[:8]}"
    stack = work_dir / f"stack-{name}"
    if not (NULL_STACK / "main.tf").is_file():
        pytest.fail(f"the null test stack is missing at {NULL_STACK}")
    shutil.copytree(NULL_STACK, stack, ignore=shutil.ignore_patterns(".terraform*"))
    state_key = f"{name}/refinery.tfstate"
    tf_env = TerraformTestEnv(name, work_dir / f"{name}.tfvars", backend, state_key)
    tf_env.set_variables()
    write_environment(
        environments_dir,
        name,
        {
            "database": {"kind": "dsn", "host": "replaced-by-outputs.invalid"},
            "lake": {"backend": "s3", "bucket": f"refinery-{name}-lake"},
            "executor": {"kind": "batch"},
            "logs": {"kind": "cloudwatch"},
            "aws": {"region": REGION, "endpoint_url": backend.endpoint_url},
            "terraform": {
                "stack": str(stack),
                "var_file": str(tf_env.tfvars),
                "plugin_dir": "bundled",
                "protected": list(protected),
                "backend": {
                    "bucket": backend.bucket,
                    "key": state_key,
                    "region": REGION,
                    "dynamodb_table": backend.lock_table,
                    "skip_credentials_validation": True,
                    "skip_metadata_api_check": True,
                    "skip_region_validation": True,
                },
            },
        },
    )
    return tf_env


@pytest.fixture
def state_backend(moto_server, monkeypatch):
    """A fresh state bucket and lock table, bootstrapped with boto3 in the moto server."""
    # Terraform must never look for the EC2 metadata service (only loopback is allowed).
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return bootstrap_backend(moto_server.endpoint_url)


@pytest.fixture
def make_tf_env(session_dirs, state_backend, tmp_path):
    """Factory: `make_tf_env(protected=(...))` -> TerraformTestEnv on the null stack."""

    def factory(protected: tuple[str, ...] = ()):
        return make_terraform_env(
            session_dirs["environments"], tmp_path, state_backend, protected=protected
        )

    return factory
