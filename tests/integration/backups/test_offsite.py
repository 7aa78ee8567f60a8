"""Off-site copies on a real S3 API (moto server on loopback): multipart with per-part
SHA-256 checksums and server-side encryption, and a restore from the bucket."""

from __future__ import annotations

import contextlib
import os
import shutil

import boto3
import pytest

from common import db
from ops.db.backups import offsite
from ops.db.backups.catalog import list_backups
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.logical import take_logical_backup
from ops.db.backups.restore import execute_restore
from ops.db.backups.settings import backup_settings
from tests.integration.backups.conftest import catalog_contents, fill_catalog

pytestmark = pytest.mark.integration
BUCKET = "refinery-test-backups"


@pytest.fixture
def s3(moto_server):
    client = boto3.client("s3", region_name="us-east-1")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return client


def test_large_files_go_up_in_parts_with_checksums_and_encryption(s3, tmp_path):
    path = tmp_path / "big.dat.gz"
    path.write_bytes(os.urandom(11 * 1024 * 1024))
    original = offsite.PART_SIZE
    offsite.PART_SIZE = 5 * 1024 * 1024
    try:
        offsite._upload_file(s3, BUCKET, "t/big.dat.gz", path)
    finally:
        offsite.PART_SIZE = original
    head = s3.head_object(Bucket=BUCKET, Key="t/big.dat.gz", ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == path.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    body = s3.get_object(Bucket=BUCKET, Key="t/big.dat.gz")["Body"].read()
    assert body == path.read_bytes()


def test_restore_from_offsite_after_the_local_copy_is_gone(s3, make_env):
    environment = make_env(backups={"offsite_bucket": BUCKET})
    fill_catalog(environment, projects=12)
    settings = backup_settings(environment)
    before = catalog_contents(environment)
    record = take_logical_backup(environment, settings)
    copy = offsite.upload_backup(environment, settings, record)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=copy.prefix)["Contents"]]
    assert f"{copy.prefix}/manifest.json" in keys and f"{copy.prefix}/dump/toc.dat" in keys
    shutil.rmtree(record.path)
    assert list_backups(settings.directory) == []
    with db.transaction(environment) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM samples")
    fetched = offsite.download_backup(environment, settings, record.name)
    execute_restore(environment, fetched)
    assert catalog_contents(environment) == before


def test_a_corrupt_offsite_copy_is_refused_before_anything_is_restored(s3, make_env):
    environment = make_env(backups={"offsite_bucket": BUCKET, "offsite_prefix": "corrupt"})
    fill_catalog(environment, projects=3)
    settings = backup_settings(environment)
    record = take_logical_backup(environment, settings)
    copy = offsite.upload_backup(environment, settings, record)
    s3.put_object(Bucket=BUCKET, Key=f"{copy.prefix}/dump/toc.dat", Body=b"tampered")
    shutil.rmtree(record.path)
    with pytest.raises(BackupCorruptError, match=r"toc\.dat"):
        offsite.download_backup(environment, settings, record.name)
    assert list(settings.directory.iterdir()) == []  # nothing half-downloaded left behind
