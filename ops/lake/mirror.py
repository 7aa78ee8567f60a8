"""Mirror a filesystem lake to S3, and bring a lake back from such a mirror.

Only new or changed objects move: an object is unchanged when the mirror holds the same size
and the same full-file sha256 (stored on the S3 object as metadata). Local hashes come from the
checksum cache, so a re-run over an unchanged lake reads nothing. Re-running after a crash
continues where the last run stopped: every object already mirrored is skipped, and each upload
is atomic (S3 shows a multipart object only once all its parts are in). Every uploaded object is
verified afterwards by reading it back and hashing it.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.environments import Environment
from common.errors import StorageError
from common.files import copy_stream_sha256
from common.lake import Lake, ObjectInfo, open_lake, open_lake_at
from common.lake.checksums import ChecksumCache, cache_path, sha256_of_object
from common.lake.s3 import MULTIPART_CHUNK_BYTES
from ops.lake.listing import list_lake
from ops.progress import Progress, quiet


@dataclass
class TransferReport:
    """What a mirror or restore moved (or, in a dry run, would move)."""

    source: str
    target: str
    executed: bool = True
    moved: list[tuple[str, int]] = field(default_factory=list)
    unchanged: int = 0
    verified: int = 0
    extra_on_target: int = 0
    parts_sent: int = 0

    @property
    def bytes_moved(self) -> int:
        return sum(size for _, size in self.moved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "executed": self.executed,
            "moved": [{"key": key, "size": size} for key, size in self.moved],
            "bytes_moved": self.bytes_moved,
            "unchanged": self.unchanged,
            "verified": self.verified,
            "extra_on_target": self.extra_on_target,
            "parts_sent": self.parts_sent,
        }


def _folder_lake(env: Environment) -> Lake:
    lake = open_lake(env)
    if lake.local_root() is None:
        raise StorageError(f"{env.name}'s lake is {lake.name}, not a folder; mirror needs one")
    return lake


def _mirror_lake(env: Environment, url: str, **options: int) -> Lake:
    mirror = open_lake_at(url, env, **options)
    mirror.check_reachable()
    return mirror


def _local_file(lake: Lake, key: str) -> Path:
    path = lake.local_path(key)
    if path is None:  # _folder_lake made sure of it
        raise StorageError(f"{lake.name} holds no file for {key} on this machine")
    return path


def mirror_to_s3(
    env: Environment,
    url: str,
    *,
    progress: Progress = quiet,
    workers: int = 8,
    chunk_bytes: int = MULTIPART_CHUNK_BYTES,
) -> TransferReport:
    """Upload every new or changed object of `env`'s filesystem lake to `url`, then verify.

    Large objects go up in parts that a re-run after an interruption does not send again."""
    source = _folder_lake(env)
    target = _mirror_lake(env, url, chunk_bytes=chunk_bytes)
    upload_state = env.state_dir / "mirror-uploads"
    cache = ChecksumCache(cache_path(env.state_dir), source.name)
    local = list_lake(source, workers=workers, progress=progress)
    remote = {info.key: info for info in target.list()}
    report = TransferReport(source.name, target.name)
    report.extra_on_target = len(set(remote) - set(local))

    def plan(info: ObjectInfo) -> tuple[ObjectInfo, str, bool]:
        sha256 = cache.lookup(info) or sha256_of_object(source, info.key)
        there = remote.get(info.key)
        if there is not None and there.size == info.size:
            stored = target.stat(info.key)
            if stored is not None and stored.sha256 == sha256:
                return info, sha256, False
        return info, sha256, True

    progress("comparing", 0, len(local))
    to_upload: list[tuple[ObjectInfo, str]] = []
    with ThreadPoolExecutor(workers) as pool:
        for info, sha256, changed in pool.map(plan, local.values()):
            if cache.lookup(info) is None:
                cache.remember(info, sha256)
            progress("comparing", 1, None)
            if changed:
                to_upload.append((info, sha256))
            else:
                report.unchanged += 1
    cache.save()

    def upload(item: tuple[ObjectInfo, str]) -> tuple[str, int, int]:
        info, sha256 = item
        _, parts = target.put_file_resumable(
            info.key, _local_file(source, info.key), sha256=sha256, state_dir=upload_state
        )
        return info.key, info.size, parts

    progress("uploading", 0, len(to_upload))
    with ThreadPoolExecutor(workers) as pool:
        for key, size, parts in pool.map(upload, to_upload):
            report.moved.append((key, size))
            report.parts_sent += parts
            progress("uploading", 1, None)
    report.verified = _verify(target, {i.key: s for i, s in to_upload}, progress, workers)
    return report


def restore_from_s3(
    env: Environment,
    url: str,
    *,
    execute: bool = False,
    progress: Progress = quiet,
    workers: int = 8,
) -> TransferReport:
    """Bring `env`'s filesystem lake back from the mirror at `url` (dry run unless `execute`)."""
    target = _folder_lake(env)
    mirror = _mirror_lake(env, url)
    cache = ChecksumCache(cache_path(env.state_dir), target.name)
    local = list_lake(target, workers=workers, progress=progress)
    report = TransferReport(mirror.name, target.name, executed=execute)
    with ThreadPoolExecutor(workers) as pool:  # one HEAD each: the stored sha256 is metadata
        remote = list(pool.map(lambda info: mirror.stat(info.key), mirror.list()))
    report.extra_on_target = len(set(local) - {info.key for info in remote if info})

    def needed(info: ObjectInfo) -> bool:
        here = local.get(info.key)
        if here is None or here.size != info.size:
            return True
        sha256 = cache.lookup(here) or sha256_of_object(target, here.key)
        cache.remember(here, sha256)
        return sha256 != info.sha256

    wanted = [info for info in remote if info is not None and needed(info)]
    cache.save()
    report.unchanged = len(remote) - len(wanted)
    if not execute:
        report.moved = [(info.key, info.size) for info in wanted]
        return report

    def fetch(info: ObjectInfo) -> tuple[str, int]:
        staged = (
            target.staging_dir()
            / f"restore.{os.getpid()}.{hashlib.sha1(info.key.encode()).hexdigest()}"
        )
        with mirror.open_read(info.key) as stream, open(staged, "wb") as out:
            sha256 = copy_stream_sha256(stream, out)
        if info.sha256 and sha256 != info.sha256:
            staged.unlink(missing_ok=True)
            raise StorageError(f"{info.key} from {mirror.name} fails its checksum; not restored")
        target.put_file(info.key, staged, sha256=sha256)
        return info.key, info.size

    progress("downloading", 0, len(wanted))
    with ThreadPoolExecutor(workers) as pool:
        for key, size in pool.map(fetch, wanted):
            report.moved.append((key, size))
            report.verified += 1
            progress("downloading", 1, None)
    return report


def _verify(target: Lake, expected: dict[str, str], progress: Progress, workers: int) -> int:
    """Read every uploaded object back and compare its sha256; raise naming the first bad one."""
    progress("verifying", 0, len(expected))

    def check(key: str) -> str | None:
        return None if sha256_of_object(target, key) == expected[key] else key

    with ThreadPoolExecutor(workers) as pool:
        for bad in pool.map(check, expected):
            progress("verifying", 1, None)
            if bad is not None:
                raise StorageError(f"{bad} on the mirror fails its checksum: re-run lake.mirror")
    return len(expected)
