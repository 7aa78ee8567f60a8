"""The `[deploy]` section of an environment file, validated.

```toml
[deploy]
lock_table = "refinery-terraform-locks"  # DynamoDB table; else [terraform.backend] dynamodb_table
region = "eu-west-1"                     # else [terraform.backend] region, else [aws] region
lease_seconds = 900                      # a lock whose holder stops renewing expires after this
smoke_timeout_seconds = 120              # how long the restarted foreman has to beat
require_rehearsal = true                 # refuse unless a staging refresh of this commit is green
rehearsal_environment = "staging"        # whose rehearsal reports count (its state folder)
```

The lock table is the one Terraform's S3 backend already uses for its state locks, so an
environment needs no extra infrastructure for deploy locks or the deploy audit log (see
`ops.deploy.lock` and `ops.deploy.audit` for the keys used). Where images are pushed and what
they are built on is the images area's `[images]` section (`ops.images.default_registry`,
`ops.images.default_base_image`), read by `inv images.*` and `inv deploy` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.environments import Environment
from common.errors import ConfigError

DEPLOY_KEYS = (
    "lock_table", "region", "lease_seconds", "smoke_timeout_seconds", "require_rehearsal",
    "rehearsal_environment",
)  # fmt: skip
# Keys older environment files carried in [deploy]; the images area owns them now.
_MOVED_TO_IMAGES = {"registry": "registry", "base_image": "base_image", "worker_image": None}


@dataclass(frozen=True)
class DeploySettings:
    """Where the deploy lock and audit log live and how a deploy behaves."""

    environment: str
    lock_table: str
    region: str
    endpoint_url: str | None
    lease_seconds: float = 900
    smoke_timeout_seconds: float = 120
    require_rehearsal: bool = False
    rehearsal_environment: str = "staging"


def deploy_settings(env: Environment) -> DeploySettings:
    """Read `[deploy]` (falling back to the Terraform backend's lock table) from `env`."""
    deploy = env.section("deploy")
    for key, new_key in _MOVED_TO_IMAGES.items():
        if key in deploy:
            where = f"[images] {new_key}" if new_key else "nothing (the image is always workers)"
            raise ConfigError(f"{env.path}: deploy.{key} is no longer read; move it to {where}")
    unknown = sorted(set(deploy) - set(DEPLOY_KEYS))
    if unknown:
        raise ConfigError(
            f"{env.path}: unknown key deploy.{unknown[0]} (allowed: {list(DEPLOY_KEYS)})"
        )
    backend = env.section("terraform").get("backend") or {}
    table = deploy.get("lock_table") or backend.get("dynamodb_table")
    if not table:
        raise ConfigError(
            f"{env.path}: no deploy lock table; set deploy.lock_table "
            "(or terraform.backend.dynamodb_table)"
        )
    region = deploy.get("region") or backend.get("region") or env.aws.region
    require_rehearsal = deploy.get("require_rehearsal", False)
    if not isinstance(require_rehearsal, bool):
        raise ConfigError(f"{env.path}: deploy.require_rehearsal must be true or false")
    return DeploySettings(
        environment=env.name,
        lock_table=_text(env, "lock_table", table),
        region=_text(env, "region", region),
        endpoint_url=env.aws.endpoint_url,
        lease_seconds=_positive(env, deploy, "lease_seconds", 900),
        smoke_timeout_seconds=_positive(env, deploy, "smoke_timeout_seconds", 120),
        require_rehearsal=require_rehearsal,
        rehearsal_environment=_text(
            env, "rehearsal_environment", deploy.get("rehearsal_environment", "staging")
        ),
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
