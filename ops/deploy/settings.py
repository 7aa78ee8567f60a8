"""The `[deploy]` section of an environment file, validated.

```toml
[deploy]
lock_table = "refinery-staging-locks"  # DynamoDB table; else [terraform] lock_table/dynamodb_table
region = "eu-west-1"                   # else [terraform] region, else [aws] region
lease_seconds = 900                    # a lock whose holder stops renewing expires after this
smoke_timeout_seconds = 120            # how long the restarted foreman has to beat
registry = "123.dkr.ecr.eu-west-1.amazonaws.com/refinery"  # images are pushed here
base_image = "refinery-base:bookworm"  # the base the images are built FROM
worker_image = "workers"               # the image the Batch job definitions run
```

The lock table is the one Terraform's S3 backend already uses for its state locks, so an
environment needs no extra infrastructure for deploy locks or the deploy audit log (see
`ops.deploy.lock` and `ops.deploy.audit` for the keys used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foreman.environments import Environment
from foreman.errors import ConfigError

_ALLOWED = {
    "lock_table",
    "region",
    "lease_seconds",
    "smoke_timeout_seconds",
    "registry",
    "base_image",
    "worker_image",
}


@dataclass(frozen=True)
class DeploySettings:
    """Where the deploy lock and audit log live and how a deploy behaves."""

    environment: str
    lock_table: str
    region: str
    endpoint_url: str | None
    lease_seconds: float = 900
    smoke_timeout_seconds: float = 120
    registry: str = ""
    base_image: str = ""
    worker_image: str = "workers"


def deploy_settings(env: Environment) -> DeploySettings:
    """Read `[deploy]` (falling back to `[terraform]` for the lock table) from `env`."""
    deploy = env.section("deploy")
    terraform = env.section("terraform")
    unknown = sorted(set(deploy) - _ALLOWED)
    if unknown:
        raise ConfigError(
            f"{env.path}: unknown key deploy.{unknown[0]} (allowed: {sorted(_ALLOWED)})"
        )
    table = (
        deploy.get("lock_table") or terraform.get("lock_table") or terraform.get("dynamodb_table")
    )
    if not table:
        raise ConfigError(
            f"{env.path}: no deploy lock table; set deploy.lock_table (or terraform.lock_table)"
        )
    region = deploy.get("region") or terraform.get("region") or env.aws.region
    return DeploySettings(
        environment=env.name,
        lock_table=_text(env, "lock_table", table),
        region=_text(env, "region", region),
        endpoint_url=env.aws.endpoint_url,
        lease_seconds=_positive(env, deploy, "lease_seconds", 900),
        smoke_timeout_seconds=_positive(env, deploy, "smoke_timeout_seconds", 120),
        registry=_text(env, "registry", deploy.get("registry", "")),
        base_image=_text(env, "base_image", deploy.get("base_image", "")),
        worker_image=_text(env, "worker_image", deploy.get("worker_image", "workers")),
    )


def _text(env: Environment, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{env.path}: deploy.{key} must be a string")
    return value


def _positive(env: Environment, section: dict[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{env.path}: deploy.{key} must be a positive number of seconds")
    return int(value) if float(value).is_integer() else value


def dynamodb_client(settings: DeploySettings):
    """A boto3 DynamoDB client for the lock table's region and endpoint."""
    import boto3

    return boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url)
