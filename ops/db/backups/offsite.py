"""Off-site copies in the environment's S3 backup bucket, and getting them back.

Files go up as multipart uploads with a SHA-256 checksum per part (S3 checks each part as it
arrives) and server-side encryption; the manifest is uploaded last, so an upload cut short
never looks like a complete backup. Downloads land under a temporary name, are checked
against the manifest and only then renamed into the backups folder.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from common.environments import Environment
from ops.db.backups.catalog import PARTIAL_PREFIX, BackupRecord, find_backup
from ops.db.backups.errors import BackupError, BackupNotFoundError
from ops.db.backups.manifest import MANIFEST_FILE, check_files, read_manifest
from ops.db.backups.settings import BackupSettings

PART_SIZE = 64 * 1024 * 1024
ENCRYPTION = "AES256"


@dataclass(frozen=True)
class OffsiteCopy:
    bucket: str
    prefix: str
    files: int
    bytes: int


def s3_client(env: Environment) -> Any:
    return boto3.client("s3", region_name=env.aws.region, endpoint_url=env.aws.endpoint_url or None)


def _require_bucket(env: Environment, settings: BackupSettings) -> str:
    if not settings.offsite_bucket:
        raise BackupError(f"{env.path}: set [backups] offsite_bucket to ship backups off-site")
    return str(env.resolve(settings.offsite_bucket))  # may be `terraform:backup_bucket`


def upload_backup(env: Environment, settings: BackupSettings, backup: BackupRecord) -> OffsiteCopy:
    bucket = _require_bucket(env, settings)
    client = s3_client(env)
    prefix = f"{settings.offsite_prefix}/{backup.name}"
    payload = backup.manifest.payload_dir_name
    files = [backup.path / payload / relative for relative in backup.manifest.files]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(
                pool.map(
                    lambda path: _upload_file(
                        client, bucket, f"{prefix}/{path.relative_to(backup.path)}", path
                    ),
                    files,
                )
            )
        _upload_file(client, bucket, f"{prefix}/{MANIFEST_FILE}", backup.path / MANIFEST_FILE)
    except (BotoCoreError, ClientError) as exc:
        raise BackupError(f"off-site copy to s3://{bucket}/{prefix} failed: {exc}") from None
    return OffsiteCopy(bucket, prefix, len(files) + 1, backup.size_bytes)


def _upload_file(client: Any, bucket: str, key: str, path: Path) -> None:
    size = path.stat().st_size
    if size <= PART_SIZE:
        with open(path, "rb") as handle:
            body = handle.read()
        client.put_object(
            Bucket=bucket, Key=key, Body=body, ServerSideEncryption=ENCRYPTION,
            ChecksumSHA256=_b64_sha256(body),
        )  # fmt: skip
        return
    upload = client.create_multipart_upload(
        Bucket=bucket, Key=key, ServerSideEncryption=ENCRYPTION, ChecksumAlgorithm="SHA256"
    )
    parts = []
    try:
        with open(path, "rb") as handle:
            number = 1
            while chunk := handle.read(PART_SIZE):
                checksum = _b64_sha256(chunk)
                answer = client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                    Body=chunk, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum,
                )  # fmt: skip
                parts.append(
                    {"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": checksum}
                )
                number += 1
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )
    except BaseException:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
        raise


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def download_backup(env: Environment, settings: BackupSettings, name: str) -> BackupRecord:
    """Fetch `name` from the bucket into the backups folder, checked against its manifest."""
    bucket = _require_bucket(env, settings)
    client = s3_client(env)
    prefix = f"{settings.offsite_prefix}/{name}/"
    local = settings.directory / name
    if local.exists():
        return find_backup(settings.directory, name)
    partial = settings.directory / f"{PARTIAL_PREFIX}{name}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for item in page.get("Contents", [])
        ]
        if f"{prefix}{MANIFEST_FILE}" not in keys:
            raise BackupNotFoundError(
                f"no complete off-site backup named {name!r} in s3://{bucket}/{prefix}"
            )
        for key in keys:
            target = partial / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, key, str(target))
        check_files(partial, read_manifest(partial))
        partial.rename(local)
    except (BotoCoreError, ClientError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"off-site download of {name} failed: {exc}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return find_backup(settings.directory, name)
