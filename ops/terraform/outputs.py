"""The stack outputs a deploy reads, and reading them from an environment's state.

`REQUIRED_OUTPUTS` is the contract between the Terraform stacks and the Python that deploys
onto them: every stack an environment can point at (the AWS stack, the null test stack)
declares each of these outputs, and tests prove it.
"""

from __future__ import annotations

import json
from typing import Any

from python_terraform import IsFlagged

from foreman.environments import Environment
from foreman.errors import CommandError
from ops.terraform.runner import check_result, init_stack

REQUIRED_OUTPUTS: dict[str, str] = {
    "aws_region": "region the stack is deployed in",
    "database_endpoint": "PostgreSQL host name",
    "database_port": "PostgreSQL port",
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
    "lock_table": "DynamoDB table for deploy and runbook locks",
}


def read_outputs(env: Environment) -> dict[str, Any]:
    """Every output of `env`'s state as plain values (`terraform output -json`)."""
    tf, _ = init_stack(env)
    code, out, err = tf.output_cmd(json=IsFlagged)
    check_result(env, "output", code, out, err)
    try:
        document = json.loads(out or "{}")
    except json.JSONDecodeError as exc:
        raise CommandError(f"{env.name}: terraform output -json was not JSON ({exc})") from None
    return {name: entry.get("value") for name, entry in document.items()}


def missing_outputs(outputs: dict[str, Any]) -> list[str]:
    """Required outputs absent from `outputs` (an un-applied or outdated stack)."""
    return [name for name in REQUIRED_OUTPUTS if name not in outputs]
