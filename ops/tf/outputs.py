"""The stack outputs a deploy reads, and reading them from an environment's state.

`REQUIRED_OUTPUTS` is the contract between the Terraform stacks and the Python that deploys
onto them: every stack an environment can point at (the AWS stack, the null test stack)
declares each of these outputs, and tests prove it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from python_terraform import IsFlagged

from common.environments import TERRAFORM_OUTPUTS_FILE, Environment
from common.errors import CommandError
from ops.tf.runner import check_result, init_stack

REQUIRED_OUTPUTS: dict[str, str] = {
    "aws_region": "region the stack is deployed in",
    "database_endpoint": "PostgreSQL host name",
    "database_port": "PostgreSQL port",
    "database_identifier": "database instance identifier (what RDS snapshots are taken of)",
    "database_name": "database created for Refinery",
    "database_username": "master user name",
    "database_master_secret_arn": "Secrets Manager secret holding the managed master password",
    "lake_bucket": "S3 bucket of the data lake",
    "backup_bucket": "S3 bucket for database backups",
    "batch_job_queues": "map: worker pool (spot, large_memory) -> Batch job queue name",
    "batch_job_role_arn": "IAM role Batch jobs run as",
    "batch_execution_role_arn": "IAM role Batch uses to pull images and write logs",
    "ecr_repository_urls": "map: image name -> ECR repository URL",
    "log_group_name": "CloudWatch log group of the platform",
    "foreman_host": "private DNS name of the foreman host",
    "foreman_instance_id": "the foreman host's instance: where the way in opens its tunnel",
    "instance_connect_endpoint_id": "the way in ([foreman_host] way_in, common/tunnel.py)",
    "lock_table": "DynamoDB table for deploy and runbook locks",
}


def read_outputs(env: Environment) -> dict[str, Any]:
    """Every output of `env`'s state as plain values (`terraform output -json`), also kept
    in the environment's state folder for settings that name an output (`terraform:…`)."""
    tf, _ = init_stack(env)
    code, out, err = tf.output_cmd(json=IsFlagged)
    check_result(env, "output", code, out, err)
    try:
        document = json.loads(out or "{}")
    except json.JSONDecodeError as exc:
        raise CommandError(f"{env.name}: terraform output -json was not JSON ({exc})") from None
    values = {name: entry.get("value") for name, entry in document.items()}
    _remember(env, values)
    return values


def _remember(env: Environment, values: dict[str, Any]) -> None:
    """Write the outputs beside the environment's other state, atomically (0600)."""
    target = env.state_dir / TERRAFORM_OUTPUTS_FILE
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(values, handle, indent=2, sort_keys=True)
    partial.replace(target)


def missing_outputs(outputs: dict[str, Any]) -> list[str]:
    """Required outputs absent from `outputs` (an un-applied or outdated stack)."""
    return [name for name in REQUIRED_OUTPUTS if name not in outputs]
