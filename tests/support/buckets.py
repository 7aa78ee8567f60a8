"""Buckets on the AWS emulator, made by tests the way the stack makes them on AWS."""

from __future__ import annotations

from botocore.exceptions import ClientError

from common.lake.s3 import S3Lake


def create_lake_bucket(lake: S3Lake) -> S3Lake:
    """Create the lake's bucket unless it exists; returns the lake."""
    try:
        lake.client.head_bucket(Bucket=lake.bucket)
    except ClientError:
        lake.client.create_bucket(Bucket=lake.bucket)
    return lake
