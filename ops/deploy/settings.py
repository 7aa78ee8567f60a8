"""Where deploy locks live, resolved from the `[deploy]` section (declared in
`common/settings/deployment.py`) and the sections it falls back to.

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

import dataclasses
from dataclasses import dataclass
from typing import Any

from common.environments import Environment
from common.errors import ConfigError
from common.settings.deployment import DeploySection, TerraformSection

DEPLOY_KEYS = tuple(field.name for field in dataclasses.fields(DeploySection))


@dataclass(frozen=True)
class LockTable:
    """Where `environment`'s deploy locks and audit log live — the DynamoDB table, its region
    and endpoint, resolved from `[deploy]`, `[terraform.backend]` and `[aws]` — and how long a
    lock lasts unrenewed. The rest of `[deploy]` is read from the section itself."""

    environment: str
    lock_table: str
    region: str
    endpoint_url: str | None
    lease_seconds: float


def lock_table(env: Environment) -> LockTable:
    """The lock table of `env`: `[deploy] lock_table` and `region`, falling back to the
    Terraform backend's, then `[aws] region`."""
    deploy = DeploySection.for_environment(env)
    backend = TerraformSection.for_environment(env).backend if env.section("terraform") else None
    table = deploy.lock_table or (backend.dynamodb_table if backend else None)
    if not table:
        raise ConfigError(
            f"{env.path}: no deploy lock table; set deploy.lock_table "
            "(or terraform.backend.dynamodb_table)"
        )
    return LockTable(
        environment=env.name,
        lock_table=table,
        region=deploy.region or (backend.region if backend else None) or env.aws.region,
        endpoint_url=env.aws.endpoint_url,
        lease_seconds=deploy.lease_seconds,
    )


def dynamodb_client(table: LockTable) -> Any:
    """A boto3 DynamoDB client for the lock table's region and endpoint."""
    import boto3

    return boto3.client("dynamodb", region_name=table.region, endpoint_url=table.endpoint_url)
