"""The manifest beside every backup: what was dumped, from where, and the sha256 of each file.

A backup is a folder `<name>/` holding `manifest.json`, the payload folder (`dump/` for a
logical backup, `data/` for a physical one) and, once checked, `verification.json`. The
manifest is written last, so a folder without one is not a finished backup.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.environments import Environment
from common.files import file_sha256
from common.identity import operator_identity
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.tools import tool_version

MANIFEST_FILE = "manifest.json"
VERIFICATION_FILE = "verification.json"
PAYLOAD_DIRS = {"logical": "dump", "physical": "data"}
# 2: big tables may be in dump/split/ (split_tables), not in pg_dump's data.
FORMAT_VERSION = 2


@dataclass
class Manifest:
    """Everything needed to trust, list and restore one backup."""

    name: str
    kind: str
    environment: str
    database: str
    created_at: str
    finished_at: str
    created_by: str
    note: str
    server_version: str
    tool_version: str
    database_size_bytes: int
    compression: str = ""
    snapshot: str = ""
    duration_seconds: float = 0.0
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Big tables whose rows are in `dump/split/` instead of pg_dump's data (see split.py).
    split_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def payload_dir_name(self) -> str:
        return PAYLOAD_DIRS[self.kind]

    @property
    def size_bytes(self) -> int:
        return sum(int(entry["size"]) for entry in self.files.values())


def new_manifest(
    env: Environment,
    *,
    name: str,
    kind: str,
    tool: str,
    note: str,
    created_at: datetime,
    started: float,
    server_version: object,
    size_bytes: int | str,
    payload: Path,
    **details: Any,
) -> Manifest:
    """The fields every kind of backup records, plus the kind's own `details`.

    Called once the payload is complete: it hashes every file under `payload` and stamps the
    finish time and duration (`started` is a `time.monotonic()` reading).
    """
    return Manifest(
        name=name,
        kind=kind,
        environment=env.name,
        database=env.database.name,
        created_at=created_at.isoformat(),
        finished_at=datetime.now(UTC).isoformat(),
        created_by=operator_identity(),
        note=note,
        server_version=str(server_version),
        tool_version=tool_version(tool),
        database_size_bytes=int(size_bytes),
        duration_seconds=round(time.monotonic() - started, 3),
        files=describe_files(payload),
        **details,
    )


def write_manifest(backup_dir: Path, manifest: Manifest) -> Path:
    """Write `manifest.json` atomically (temporary file, fsync, rename)."""
    return write_json_atomically(backup_dir / MANIFEST_FILE, asdict(manifest))


def read_manifest(backup_dir: Path) -> Manifest:
    """The manifest of a backup folder; a corrupt or missing one is a BackupCorruptError."""
    path = backup_dir / MANIFEST_FILE
    try:
        data = json.loads(path.read_text())
        return Manifest(**data)
    except FileNotFoundError:
        raise BackupCorruptError(f"{backup_dir.name}: {MANIFEST_FILE} is missing") from None
    except (ValueError, TypeError) as exc:
        raise BackupCorruptError(
            f"{backup_dir.name}: {MANIFEST_FILE} is unreadable: {exc}"
        ) from None


def write_json_atomically(path: Path, value: Any) -> Path:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return path


def describe_files(payload_dir: Path, *, workers: int | None = None) -> dict[str, dict[str, Any]]:
    """{relative path: {size, sha256}} of every file under `payload_dir`, hashed in parallel."""
    paths = sorted(path for path in payload_dir.rglob("*") if path.is_file())
    # hashlib releases the GIL on large buffers, so threads use every core.
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        digests = list(pool.map(file_sha256, paths))
    return {
        str(path.relative_to(payload_dir)): {"size": path.stat().st_size, "sha256": digest}
        for path, digest in zip(paths, digests, strict=True)
    }


def file_problems(backup_dir: Path, manifest: Manifest) -> list[str]:
    """Every way the payload differs from the manifest, each naming the file ('' when fine)."""
    payload = backup_dir / manifest.payload_dir_name
    if not payload.is_dir():
        return [f"{manifest.payload_dir_name}/ is missing"]
    actual = describe_files(payload)
    problems = []
    for relative, expected in sorted(manifest.files.items()):
        found = actual.get(relative)
        label = f"{manifest.payload_dir_name}/{relative}"
        if found is None:
            problems.append(f"{label} is missing")
        elif found["size"] != expected["size"]:
            problems.append(f"{label} has {found['size']} bytes, manifest says {expected['size']}")
        elif found["sha256"] != expected["sha256"]:
            problems.append(
                f"{label} has sha256 {found['sha256'][:12]}…, manifest says "
                f"{expected['sha256'][:12]}…"
            )
    problems.extend(
        f"{manifest.payload_dir_name}/{relative} is not in the manifest"
        for relative in sorted(set(actual) - set(manifest.files))
    )
    return problems


def check_files(backup_dir: Path, manifest: Manifest) -> None:
    """Raise BackupCorruptError naming the first bad file (and how many are bad)."""
    problems = file_problems(backup_dir, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BackupCorruptError(
            f"backup {manifest.name} is corrupt: {problems[0]}{more}; do not restore it"
        )
