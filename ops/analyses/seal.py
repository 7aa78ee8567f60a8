"""Sealing: FINISHED analyses become SUCCEEDED, their results read-only and the bot's.

Run on a schedule by the platform's bot identity (env `[identity] bot_user`). For each finished
analysis the results are hashed (every computed file's sha256, then the results' sha256 over
the sorted `<sha256>  <name>` lines), made read-only for everyone (filesystem: a-w on files
and folders) and handed to the bot user; then the row is marked SUCCEEDED with the results'
size and checksum. The lake is changed first and the row last, and both steps are idempotent,
so a crash in between is finished by the next run. An analysis the bot ran itself is sealed in
place (it already owns its results). S3 has no per-object read-only flag: the recorded
checksums prove later that nothing changed, and the lake bucket's policy keeps results
read-only — the AWS stack's `OnlyTheBotWritesResults` statement (infrastructure/modules/
s3_bucket) denies PutObject and DeleteObject under `analyses/` to every principal but the bot's
role (its pipelines' Batch job role). Sealing reads that policy back and reports
`"s3: bucket policy"` only when the bucket has it; otherwise `"s3: NOT write-protected"`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from common.db import fetch_one, transaction
from common.environments import Environment
from common.errors import RefineryError, StorageError
from common.lake import Lake, open_lake
from common.lake.checksums import sha256_of_object
from common.lake.layout import analysis_prefix
from common.sql import query


class PermissionRefused(RefineryError):
    """The database role running this may not do it (see migration 0007's roles)."""


S3_PROTECTED = "s3: bucket policy"
S3_UNPROTECTED = "s3: NOT write-protected"


def _sql(name: str) -> str:
    return query(__file__, "analyses.sql", name)


@dataclass
class SealedAnalysis:
    analysis_id: int
    run_by: str
    files: int
    results_bytes: int
    results_sha256: str
    ownership: str  # "transferred", "in place", S3_PROTECTED or S3_UNPROTECTED


@dataclass
class SealReport:
    executed: bool
    bot_user: str
    sealed: list[SealedAnalysis] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def bot_user(env: Environment) -> str:
    return env.bot_user


def results_sha256(per_file: dict[str, str]) -> str:
    """One checksum for a set of results: sha256 over sorted `<sha256>  <name>` lines."""
    lines = "".join(f"{sha}  {name}\n" for name, sha in sorted(per_file.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def seal_finished_analyses(env: Environment, *, execute: bool = True) -> SealReport:
    """Seal every FINISHED analysis (or, with execute=False, say what would be sealed)."""
    bot = bot_user(env)
    lake = open_lake(env)
    owner = lake.seal_owner(bot)
    # Read once: what protects results on an object store is the bucket's own policy.
    s3_ownership = S3_PROTECTED if lake.writes_denied_under("analyses/") else S3_UNPROTECTED
    report = SealReport(executed=execute, bot_user=bot)
    with transaction(env) as conn, conn.cursor() as cur:
        cur.execute(_sql("is_admin"))
        if not fetch_one(cur)[0]:
            raise PermissionRefused("only an admin (or the platform's bot) may seal analyses")
        cur.execute(_sql("finished_analyses"))
        for analysis_id, run_by, _application in cur.fetchall():
            cur.execute(_sql("computed_files"), {"analysis_id": analysis_id})
            files = cur.fetchall()
            try:
                per_file = _hash_results(lake, analysis_id, files)
            except StorageError as exc:
                report.refused.append((analysis_id, str(exc)))
                continue
            total = sum(size for size, _ in per_file.values())
            checksum = results_sha256({k: sha for k, (_, sha) in per_file.items()})
            in_place = run_by == bot
            ownership = (
                s3_ownership if owner is None else ("in place" if in_place else "transferred")
            )
            report.sealed.append(
                SealedAnalysis(analysis_id, run_by, len(files), total, checksum, ownership)
            )
            if not execute:
                continue
            lake.seal_tree(analysis_prefix(analysis_id), owner)
            for file_id, key, _size, recorded in files:
                size, sha = per_file[key]
                if recorded != sha:
                    cur.execute(
                        _sql("record_file_checksum"), {"id": file_id, "sha256": sha, "size": size}
                    )
            cur.execute(
                _sql("mark_sealed"),
                {
                    "analysis_id": analysis_id,
                    "bytes": total,
                    "sha256": checksum,
                    # lake-relative like every other row: the lake's own address is the
                    # environment's business, and it moves (a mirror, a restored lake)
                    "location": analysis_prefix(analysis_id),
                    "bot": bot,
                },
            )
        if not execute:
            conn.rollback()
    return report


def _hash_results(
    lake: Lake, analysis_id: int, files: Iterable[tuple[Any, ...]]
) -> dict[str, tuple[int, str]]:
    per_file: dict[str, tuple[int, str]] = {}
    for _file_id, key, size, recorded in files:
        info = lake.stat(key)
        if info is None:
            raise StorageError(f"result {key} is missing from the lake; run inv lake.check")
        sha = sha256_of_object(lake, key)
        if recorded and recorded != sha:
            raise StorageError(f"result {key} does not match its recorded sha256; not sealing")
        if size is not None and size != info.size:
            raise StorageError(f"result {key} is {info.size} bytes, catalog says {size}")
        per_file[key] = (info.size, sha)
    return per_file
