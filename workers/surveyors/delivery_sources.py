"""Where a delivery lives: a folder on a shared drive, or a prefix in S3 (`s3://bucket/prefix/`).

The sample-sheet rules are the same for both (workers.surveyors.delivery); a source only reads
the sheet and says, for a FASTQ path relative to the delivery, which file that is: its name,
the URL the downloader fetches it from (`file://…` or `s3://bucket/key`), and its size. A path
that leaves the delivery (`..`, an absolute path, a symlink pointing out) is refused in both.
An S3 delivery is listed once, so checking a sheet of many files costs one listing, not one
request per file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from common.errors import StorageError, ValidationError
from common.inputs import MAX_PATH_LENGTH, check_text, excerpt, shown, user_path

SAMPLE_SHEET = "samplesheet.csv"
MAX_SHEET_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class DeliveryFile:
    """One FASTQ of a delivery: `key` identifies it within the delivery (duplicates check)."""

    key: str
    name: str
    url: str
    size: int


class DeliverySource(Protocol):
    """What the sample-sheet rules need from where a delivery is."""

    @property
    def location(self) -> str: ...

    @property
    def sheet_name(self) -> str: ...  # how messages name the sheet

    def sheet_text(self) -> str: ...

    def locate(self, where: str, column: str, value: str) -> DeliveryFile: ...


def open_delivery(location: str, *, s3_client: Any = None) -> DeliverySource:
    """The delivery at `location`: `s3://bucket/prefix/` (read with `s3_client`), else a folder."""
    if location.startswith("s3://"):
        if s3_client is None:
            raise ValidationError(f"{location}: an S3 delivery needs an environment to read it")
        return S3Delivery.open(location, s3_client)
    return FolderDelivery.open(location)


@dataclass
class FolderDelivery:
    """A delivery folder (sample sheet + FASTQ files anywhere below it)."""

    root: Path

    @classmethod
    def open(cls, folder: str | Path) -> FolderDelivery:
        check_text(str(folder), "the delivery folder's path", max_length=MAX_PATH_LENGTH)
        root = user_path(str(folder), "delivery folder")
        if not root.is_dir():
            raise ValidationError(f"delivery folder {root} does not exist or is not a folder")
        return cls(root.resolve())

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def sheet_name(self) -> str:
        return str(self.root / SAMPLE_SHEET)

    def sheet_text(self) -> str:
        sheet = self.root / SAMPLE_SHEET
        if not sheet.is_file():
            raise ValidationError(f"{sheet} is missing: a delivery needs a {SAMPLE_SHEET}")
        if sheet.stat().st_size > MAX_SHEET_BYTES:
            raise ValidationError(f"{sheet} is larger than {MAX_SHEET_BYTES // 2**20} MB")
        try:
            return sheet.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{sheet}: not a readable CSV file ({exc})") from None

    def locate(self, where: str, column: str, value: str) -> DeliveryFile:
        named, quoted = shown(value), excerpt(value, 200)
        relative = Path(value)
        if relative.is_absolute():
            raise ValidationError(f"{where}: {column} {quoted} must be relative to the delivery")
        try:
            path = (self.root / relative).resolve()
            if not path.is_relative_to(self.root):
                raise ValidationError(
                    f"{where}: {column} {quoted} points outside the delivery folder"
                )
            if not path.is_file():
                raise ValidationError(f"{where}: {column} {named} does not exist in the delivery")
            size = path.stat().st_size
        except OSError as exc:  # a name too long for the file system, a loop of links…
            reason = exc.strerror or type(exc).__name__
            raise ValidationError(f"{where}: {column} {named} cannot be used ({reason})") from None
        return DeliveryFile(str(path), path.name, path.as_uri(), size)


@dataclass
class S3Delivery:
    """A delivery uploaded under an S3 prefix: `s3://bucket/prefix/samplesheet.csv` + FASTQs."""

    bucket: str
    prefix: str  # "" or ending in "/"
    client: Any
    objects: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open(cls, url: str, client: Any) -> S3Delivery:
        rest = url.removeprefix("s3://")
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValidationError(f"{url}: give the delivery as s3://bucket/prefix/")
        prefix = prefix.strip("/")
        delivery = cls(bucket, f"{prefix}/" if prefix else "", client)
        delivery.objects = delivery._list()
        if not delivery.objects:
            raise ValidationError(f"delivery {delivery.location} does not exist or is empty")
        return delivery

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def sheet_name(self) -> str:
        return f"{self.location}{SAMPLE_SHEET}"

    def _list(self) -> dict[str, int]:
        from botocore.exceptions import BotoCoreError, ClientError

        found: dict[str, int] = {}
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    found[item["Key"]] = int(item["Size"])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise ValidationError(f"cannot list delivery {self.location} ({code})") from None
        except BotoCoreError as exc:
            raise StorageError(
                f"cannot reach S3 for delivery {self.location} ({type(exc).__name__})"
            ) from None
        return found

    def sheet_text(self) -> str:
        key = f"{self.prefix}{SAMPLE_SHEET}"
        if key not in self.objects:
            raise ValidationError(
                f"{self.sheet_name} is missing: a delivery needs a {SAMPLE_SHEET}"
            )
        if self.objects[key] > MAX_SHEET_BYTES:
            raise ValidationError(f"{self.sheet_name} is larger than {MAX_SHEET_BYTES // 2**20} MB")
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            return body.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{self.sheet_name}: not a readable CSV file ({exc})") from None
        finally:
            body.close()

    def locate(self, where: str, column: str, value: str) -> DeliveryFile:
        if value.startswith("/"):
            raise ValidationError(f"{where}: {column} {value!r} must be relative to the delivery")
        relative = posixpath.normpath(value)
        if relative == ".." or relative.startswith("../"):
            raise ValidationError(f"{where}: {column} {value!r} points outside the delivery folder")
        key = f"{self.prefix}{relative}"
        if key not in self.objects:
            raise ValidationError(f"{where}: {column} {value} does not exist in the delivery")
        return DeliveryFile(
            key, posixpath.basename(key), f"s3://{self.bucket}/{key}", self.objects[key]
        )
