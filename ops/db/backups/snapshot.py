"""`db.snapshot`: for RDS, where pg_basebackup cannot reach the files, ask AWS for a snapshot
of the instance and wait until it is available."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from common.environments import Environment
from ops.db.backups.errors import BackupError
from ops.db.backups.settings import backup_settings


@dataclass(frozen=True)
class SnapshotResult:
    instance: str
    snapshot: str
    status: str


def take_rds_snapshot(env: Environment, *, wait_seconds: int = 3600) -> SnapshotResult:
    instance = backup_settings(env).rds_instance
    if not instance:
        raise BackupError(f"{env.path}: set [backups] rds_instance to take RDS snapshots")
    instance = str(env.resolve(instance))  # may be `terraform:database_identifier`
    client = boto3.client("rds", region_name=env.aws.region, endpoint_url=env.aws.endpoint_url)
    name = f"refinery-{env.name}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    try:
        client.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=instance)
        client.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier=name,
            WaiterConfig={"Delay": 15, "MaxAttempts": max(1, wait_seconds // 15)},
        )
        answer = client.describe_db_snapshots(DBSnapshotIdentifier=name)
    except WaiterError as exc:
        raise BackupError(f"snapshot {name} did not become available: {exc}") from None
    except (BotoCoreError, ClientError) as exc:
        raise BackupError(f"RDS snapshot of {instance} failed: {exc}") from None
    status = answer["DBSnapshots"][0]["Status"]
    return SnapshotResult(instance, name, status)
