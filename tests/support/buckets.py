"""Buckets on the AWS emulator, made by tests the way the stack makes them on AWS."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from common.lake.s3 import S3Lake


def create_lake_bucket(lake: S3Lake) -> S3Lake:
    """Create the lake's bucket unless it exists; returns the lake."""
    try:
        lake.client.head_bucket(Bucket=lake.bucket)
    except ClientError:
        lake.client.create_bucket(Bucket=lake.bucket)
    return lake


def new_lake_and_inbox(s3: Any, inbox_name: str = "inbox") -> tuple[str, str]:
    """Two new buckets with a unique suffix: a lake and an inbox (deliveries, references)."""
    suffix = uuid.uuid4().hex[:8]
    lake, inbox = f"lake-{suffix}", f"{inbox_name}-{suffix}"
    s3.create_bucket(Bucket=lake)
    s3.create_bucket(Bucket=inbox)
    return lake, inbox
