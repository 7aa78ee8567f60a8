"""The S3 lake backend: objects under `s3://<bucket>/<prefix>`, same keys as on a filesystem.

Every object carries two checksums so it can be verified later whatever way it was uploaded:
S3's own SHA256 checksum (`ChecksumAlgorithm`, per part for multipart uploads) and the
full-file sha256 in the object's metadata (`x-amz-meta-sha256`), which is what the catalog
records. An object's fingerprint — what proves it unchanged for checksum caches — is its size,
its ETag and that stored checksum. Internal areas (`.staging/`, `.quarantine/`, `.trash/`) are
key prefixes starting with a dot and are never listed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from common.environments import Environment
from common.errors import StorageError
from common.failpoints import failpoint
from common.files import file_sha256
from common.lake.base import INTERNAL_AREAS, Lake, ObjectInfo, check_key, relative_prefix

MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024
SHA256_METADATA = "sha256"


def s3_client(env: Environment | None = None) -> Any:
    """A boto3 S3 client for `env` (region/endpoint from env.aws; AWS_ENDPOINT_URL honoured)."""
    import boto3
    from botocore.config import Config

    region = env.aws.region if env else os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    endpoint = env.aws.endpoint_url if env and env.aws.endpoint_url else None
    # Signature version 4 for presigned links too (botocore still signs those with version 2
    # by default, which newer regions refuse): a link then states its own lifetime
    # (X-Amz-Expires), which S3 holds to at most 7 days.
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,
        signature_version="s3v4",
    )
    return boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)


def transfer_config(chunk_bytes: int = MULTIPART_CHUNK_BYTES) -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=chunk_bytes, multipart_chunksize=chunk_bytes, max_concurrency=4
    )


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> (bucket, prefix without slashes at the ends)."""
    if not url.startswith("s3://") or len(url) <= 5:
        raise StorageError(f"{url!r} is not an s3://BUCKET/PREFIX address")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise StorageError(f"{url!r} has no bucket name: use s3://BUCKET/PREFIX")
    return bucket, prefix.strip("/")


class S3Lake(Lake):
    """A lake in an S3 bucket under a prefix."""

    parallel_reads = 16  # each read waits on a request, not on this process
    listing_fingerprints_complete = False  # the stored checksum needs a HEAD per object

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        staging_root: Path | None = None,
        chunk_bytes: int = MULTIPART_CHUNK_BYTES,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or s3_client()
        self.chunk_bytes = chunk_bytes
        self._staging_root = staging_root
        self.name = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @classmethod
    def for_environment(cls, env: Environment) -> S3Lake:
        return cls(
            env.lake.bucket,
            env.lake.prefix,
            client=s3_client(env),
            staging_root=env.state_dir / "s3-staging",
        )

    @classmethod
    def from_url(
        cls, url: str, env: Environment | None = None, *, chunk_bytes: int = MULTIPART_CHUNK_BYTES
    ) -> S3Lake:
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, client=s3_client(env), chunk_bytes=chunk_bytes)

    # keys -------------------------------------------------------------------------------
    def object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _lake_key(self, object_key: str) -> str:
        return object_key[len(self.prefix) + 1 :] if self.prefix else object_key

    # interface --------------------------------------------------------------------------
    def put_file(self, key: str, source: Path, *, sha256: str | None = None) -> ObjectInfo:
        """Upload (multipart above the chunk size) with S3 SHA256 checksums and the file's
        sha256 in metadata. S3 makes an object visible only once complete, so this is atomic."""
        check_key(key)
        source = Path(source)
        sha256 = sha256 or file_sha256(source)
        self._upload(source, self.object_key(key), sha256)
        info = self.stat(key)
        if info is None or info.size != source.stat().st_size:
            raise StorageError(f"upload of {key!r} to {self.name} did not verify; retry it")
        return info

    def download_link(self, key: str, expires_seconds: int) -> tuple[str, bool]:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.stat(key) is None:
            raise StorageError(f"{key!r} is not in the lake {self.name}")
        try:
            url = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.object_key(key)},
                ExpiresIn=int(expires_seconds),
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot sign a link to {self.name}/{key}: {exc}") from None
        return str(url), True

    def _upload(self, source: Path, object_key: str, sha256: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(source),
                self.bucket,
                object_key,
                ExtraArgs={
                    "ChecksumAlgorithm": "SHA256",
                    "Metadata": {SHA256_METADATA: sha256},
                },
                Config=transfer_config(self.chunk_bytes),
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot upload to {self.name}/{object_key}: {exc}") from None

    def put_file_resumable(
        self,
        key: str,
        source: Path,
        *,
        sha256: str,
        state_dir: Path,
    ) -> tuple[ObjectInfo, int]:
        """Like put_file, but a large upload interrupted part-way continues where it stopped.

        The multipart upload's id is kept in a small file under `state_dir`; a re-run lists the
        parts S3 already holds and sends only those missing or different (each part's SHA256
        is compared). Returns the object and how many parts this call sent. The failpoint
        `lake.s3.upload_part` (common/failpoints.py) is reached before each part is sent."""
        source = Path(source)
        size = source.stat().st_size
        if size <= self.chunk_bytes:
            return self.put_file(key, source, sha256=sha256), 1
        object_key = self.object_key(check_key(key))
        state_dir.mkdir(parents=True, exist_ok=True)
        state_file = state_dir / (hashlib.sha1(f"{self.name}/{key}".encode()).hexdigest() + ".json")
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        wanted = {"sha256": sha256, "size": size, "chunk": self.chunk_bytes}
        if state is not None and {k: state.get(k) for k in wanted} != wanted:
            self._abort(object_key, state["upload_id"])
            state = None
        held = self._uploaded_parts(object_key, state["upload_id"]) if state else None
        if held is None:
            upload = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=object_key, ChecksumAlgorithm="SHA256",
                Metadata={SHA256_METADATA: sha256},
            )  # fmt: skip
            state, held = {**wanted, "upload_id": upload["UploadId"]}, {}
            state_file.write_text(json.dumps(state))
        assert state is not None  # held parts come from a recorded upload, else one was created
        parts, sent = [], 0
        with open(source, "rb") as handle:
            for number in range(1, (size + self.chunk_bytes - 1) // self.chunk_bytes + 1):
                data = handle.read(self.chunk_bytes)
                checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
                have = held.get(number)
                if have and _part_matches(have, data, checksum):
                    parts.append(
                        {"PartNumber": number, "ETag": have["ETag"], "ChecksumSHA256": checksum}
                    )
                    continue
                failpoint("lake.s3.upload_part")
                response = self.client.upload_part(
                    Bucket=self.bucket, Key=object_key, UploadId=state["upload_id"],
                    PartNumber=number, Body=data, ChecksumAlgorithm="SHA256",
                )  # fmt: skip
                parts.append(
                    {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}
                )
                sent += 1
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=object_key, UploadId=state["upload_id"],
            MultipartUpload={"Parts": parts},
        )  # fmt: skip
        state_file.unlink(missing_ok=True)
        info = self.stat(key)
        if info is None or info.size != size or info.sha256 != sha256:
            raise StorageError(f"upload of {key!r} to {self.name} did not verify; retry it")
        return info, sent

    def _uploaded_parts(self, object_key: str, upload_id: str) -> dict[int, dict] | None:
        """{part number: part} of an unfinished upload; None when S3 no longer knows it."""
        from botocore.exceptions import ClientError

        parts: dict[int, dict] = {}
        try:
            paginator = self.client.get_paginator("list_parts")
            for page in paginator.paginate(Bucket=self.bucket, Key=object_key, UploadId=upload_id):
                for part in page.get("Parts", []):
                    parts[int(part["PartNumber"])] = part
        except ClientError:
            return None
        return parts

    def _abort(self, object_key: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=object_key, UploadId=upload_id
            )

    def writes_denied_under(self, prefix: str) -> bool:
        """Whether the bucket policy has a Deny of PutObject and DeleteObject on every object
        under `prefix` for any principal but the ones its condition names (the stack's
        `OnlyTheBotWritesResults`, infrastructure/modules/s3_bucket)."""
        try:
            text = self.client.get_bucket_policy(Bucket=self.bucket)["Policy"]
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                return False
            raise StorageError(f"cannot read the bucket policy of {self.name}: {exc}") from None
        target = f"arn:aws:s3:::{self.bucket}/{self.object_key(prefix)}*"
        return any(_denies_writes(statement, target) for statement in _statements(text))

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(
                Bucket=self.bucket, Key=self.object_key(check_key(key)), ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StorageError(f"cannot read {key!r} in {self.name}: {exc}") from None
        return self._info_from_head(key, head)

    def _info_from_head(self, key: str, head: dict[str, Any]) -> ObjectInfo:
        sha256 = (head.get("Metadata") or {}).get(SHA256_METADATA)
        stored = head.get("ChecksumSHA256") or ""
        etag = head.get("ETag", "").strip('"')
        size = int(head["ContentLength"])
        return ObjectInfo(key, size, f"s3:{size}:{etag}:{stored}:{sha256 or ''}", sha256)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects from the listing alone: size and ETag (no per-object request).

        The fingerprint here lacks the stored checksum; `with_stored_checksum` completes it
        when a caller (a checksum check) needs the full fingerprint and the stored sha256."""
        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
            for item in page.get("Contents", []):
                key = self._lake_key(item["Key"])
                if not key or key.startswith("."):
                    continue
                etag = item.get("ETag", "").strip('"')
                yield ObjectInfo(key, int(item["Size"]), f"s3:{item['Size']}:{etag}")

    def list_area(self, area: str) -> Iterator[ObjectInfo]:
        base = self.object_key(relative_prefix(area) + "/")
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                etag = item.get("ETag", "").strip('"')
                key = self._lake_key(item["Key"])
                yield ObjectInfo(key, int(item["Size"]), f"s3:{item['Size']}:{etag}")

    def list_internal(self, area: str) -> Iterator[str]:
        """Keys under an internal dot-area (`.quarantine/…`)."""
        return (info.key for info in self.list_area(area))

    def check_reachable(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError):
            raise StorageError(
                f"bucket {self.bucket!r} is not reachable: create it first"
            ) from None

    def move_tree(self, source: str, target: str) -> bool:
        return self.move_prefix(relative_prefix(source) + "/", relative_prefix(target) + "/") > 0

    def tree_exists(self, prefix: str) -> bool:
        relative = relative_prefix(prefix)
        if relative.startswith("."):
            return any(True for _ in self.list_area(relative))
        return any(True for _ in self.list(relative + "/"))

    def purge_tree(self, prefix: str) -> None:
        relative = relative_prefix(prefix) + "/"
        if not relative.startswith(INTERNAL_AREAS):
            raise StorageError(f"refusing to purge {prefix!r}: only internal areas are purged")
        for key in list(self.list_internal(relative)):
            self.delete_internal(key)

    def with_stored_checksum(self, info: ObjectInfo) -> ObjectInfo:
        """`info` with the full fingerprint (size, ETag, stored checksum) and stored sha256."""
        return self.stat(info.key) or info

    def open_read(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError:
            raise StorageError(f"lake object {key!r} is missing from {self.name}") from None
        return io.BufferedReader(_StreamingBody(response["Body"]), 1024 * 1024)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(check_key(key)))

    def delete_internal(self, key: str) -> None:
        """Delete a key in an internal area (check_key refuses dot-led keys on purpose)."""
        if not key.startswith("."):
            raise StorageError(f"{key!r} is not in an internal area")
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def move_prefix(self, source_prefix: str, target_prefix: str) -> int:
        """Copy every object (keeping metadata and checksums) then delete the source.

        Not atomic on S3: a crash in the middle leaves objects in both places, never in
        neither; re-running finishes the move."""
        source = source_prefix.rstrip("/") + "/"
        target = target_prefix.rstrip("/") + "/"
        if not source.startswith("."):
            check_key(source.rstrip("/"))
        keys = (
            list(self.list_internal(source))
            if source.startswith(".")
            else [info.key for info in self.list(source)]
        )
        for key in keys:
            self._copy_then_delete(key, target + key[len(source) :])
        return len(keys)

    def move_object(self, key: str, target: str) -> None:
        """Copy one object (metadata and checksum kept) to `target`, then delete it; either
        end may be in an internal area. An existing target is never overwritten."""
        from botocore.exceptions import ClientError

        key, target = relative_prefix(key), relative_prefix(target)
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(target))
        except ClientError:
            pass
        else:
            raise StorageError(f"{target} already exists in {self.name}; not overwriting it")
        self._copy_then_delete(key, target)

    def _copy_then_delete(self, key: str, target: str) -> None:
        self.client.copy(
            {"Bucket": self.bucket, "Key": self.object_key(key)},
            self.bucket,
            self.object_key(target),
            ExtraArgs={"ChecksumAlgorithm": "SHA256", "MetadataDirective": "COPY"},
            Config=transfer_config(self.chunk_bytes),
        )
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def staging_dir(self) -> Path:
        root = self._staging_root or Path(tempfile.gettempdir()) / "refinery-s3-staging"
        root.mkdir(parents=True, exist_ok=True)
        return root


def _part_matches(part: dict, data: bytes, checksum: str) -> bool:
    """An uploaded part holds `data`: same SHA256, or (without one) the MD5 ETag matches."""
    if part.get("ChecksumSHA256"):
        return part["ChecksumSHA256"] == checksum
    return part.get("ETag", "").strip('"') == hashlib.md5(data).hexdigest()


class _StreamingBody(io.RawIOBase):
    """botocore's StreamingBody as a raw stream, so it can be buffered and used with `with`."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


_WRITES = {"s3:PutObject", "s3:DeleteObject"}


def _statements(policy_text: str) -> list[dict[str, Any]]:
    statements = json.loads(policy_text).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _denies_writes(statement: dict[str, Any], resource: str) -> bool:
    """A Deny of both writes on exactly `resource` (any partition), for every principal."""
    if statement.get("Effect") != "Deny" or statement.get("Principal") not in ("*", {"AWS": "*"}):
        return False
    actions = set(_as_list(statement.get("Action", [])))
    resources = {r.split(":", 1)[1] for r in _as_list(statement.get("Resource", []))}
    return actions >= _WRITES and resource.split(":", 1)[1] in resources
