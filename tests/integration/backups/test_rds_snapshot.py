"""`db.snapshot` asks RDS (the moto server on loopback) for a snapshot and waits for it."""

from __future__ import annotations

import boto3
import pytest

from ops.db.backups.errors import BackupError
from ops.db.backups.physical import take_rds_snapshot

pytestmark = pytest.mark.integration


def test_snapshot_of_the_environment_instance_becomes_available(moto_server, make_env):
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_instance(
        DBInstanceIdentifier="refinery-staging-db", DBInstanceClass="db.t3.micro",
        Engine="postgres", AllocatedStorage=20, MasterUsername="refinery",
        MasterUserPassword="not-a-real-password",
    )  # fmt: skip
    env = make_env(backups={"rds_instance": "refinery-staging-db"})
    result = take_rds_snapshot(env, wait_seconds=60)
    assert result.status == "available"
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier="refinery-staging-db")
    assert result.snapshot in [s["DBSnapshotIdentifier"] for s in snapshots["DBSnapshots"]]


def test_snapshot_without_an_instance_configured_is_a_one_line_error(make_env):
    with pytest.raises(BackupError, match=r"rds_instance"):
        take_rds_snapshot(make_env())
