"""`inv data.export`: a project (or one experiment) as a BagIt bag, with checksums.

The bag holds `metadata/samples.csv` and `metadata/project.json` (the project, its samples
with their merged metadata, experiments, files and analyses), `original/<experiment>/<file>`
and `computed/<analysis id>/<file>`. Each file is streamed from the lake into a staging folder
beside the target (`<bag>.partial`) under a temporary name, checked against the catalog's
sha256, then renamed: a killed export resumes from the staging folder and copies only what is
missing. The `bagit` package then writes the manifests (sha256) and validates the whole bag
before it takes its final name. For `s3://` targets the validated bag is uploaded object by
object (skipping objects already there with the same sha256) and every object is checked
after the copy.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.db import connection
from common.environments import Environment
from common.errors import ExitCode, RefineryError, StorageError, ValidationError
from common.files import copy_stream_sha256
from common.lake import Lake, open_lake
from common.projects import Project, find_project
from common.sql import query
from ops.progress import Progress

CHUNK = 1024 * 1024


@dataclass
class ExportReport:
    bag: str
    project: str
    experiments: int
    files_copied: int = 0
    files_reused: int = 0
    files_missing: list[str] = field(default_factory=list)
    bytes_copied: int = 0
    uploaded: int = 0


def _sql(name: str) -> str:
    return query(__file__, "export.sql", name)


def export_project(
    env: Environment,
    code: str,
    target: str,
    *,
    experiment: str | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    if not target.strip():
        raise ValidationError("give --to a folder or s3://bucket/prefix to export into")
    with connection(env) as conn:
        project = find_project(conn, code)
        content = _content(conn, project, experiment)
    name = f"{project.code}-{experiment}" if experiment else project.code
    if target.startswith("s3://"):
        staging_root = env.state_dir / "exports"
    else:
        staging_root = Path(target).expanduser()
    bag_dir = staging_root / name
    if bag_dir.exists() and not target.startswith("s3://"):
        raise ValidationError(f"{bag_dir} exists already; export to another folder")
    report = ExportReport(str(bag_dir), project.code, len(content["experiments"]))
    staging = staging_root / f"{name}.partial"
    if not bag_dir.exists():
        with _only_export_of(staging, bag_dir):
            _build_bag(env, project, content, staging, report, progress)
            staging.rename(bag_dir)
    if target.startswith("s3://"):
        report.uploaded = _upload_bag(env, bag_dir, f"{target.rstrip('/')}/{name}")
        report.bag = f"{target.rstrip('/')}/{name}"
    return report


@contextmanager
def _only_export_of(staging: Path, bag_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the bag's `.partial` folder while it is built, so a second
    export of the same bag is refused at once in one line instead of writing into the same
    files; the lock goes with the process (a killed export leaves it free to resume)."""
    staging.mkdir(parents=True, exist_ok=True)
    handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportInProgressError(
                f"another export of {bag_dir.name} into {bag_dir.parent} is in progress "
                f"(in {staging}); wait for it to finish"
            ) from None
        if bag_dir.exists():  # the other export finished while this one looked
            with suppress(OSError):
                staging.rmdir()
            raise ValidationError(f"{bag_dir} exists already; export to another folder")
        yield
    finally:
        os.close(handle)


class ExportInProgressError(RefineryError):
    """Another process is exporting the same bag into the same place."""

    exit_code = ExitCode.LOCK_HELD


def _content(conn: Connection, project: Project, experiment: str | None) -> dict[str, Any]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            _sql("export_experiments"), {"project_id": project.id, "experiment": experiment}
        )
        experiments = [dict(row) for row in cur.fetchall()]
        if experiment and not experiments:
            raise ValidationError(f"project {project.code} has no experiment {experiment}")
        ids = [row["id"] for row in experiments]
        cur.execute(_sql("export_original_files"), {"experiment_ids": ids})
        originals = [dict(row) for row in cur.fetchall()]
        cur.execute(_sql("export_analyses"), {"experiment_ids": ids})
        analyses = [dict(row) for row in cur.fetchall()]
        cur.execute(
            _sql("export_computed_files"), {"analysis_ids": [row["id"] for row in analyses]}
        )
        computed = [dict(row) for row in cur.fetchall()]
    for row in originals:
        row["bag_path"] = f"original/{row['owner']}/{row['name']}"
    for row in computed:
        row["bag_path"] = f"computed/{row['owner']}/{row['name']}"
    return {
        "project": project.as_dict(),
        "experiments": experiments,
        "analyses": analyses,
        "files": originals + computed,
    }


def _build_bag(
    env: Environment,
    project: Project,
    content: dict[str, Any],
    staging: Path,
    report: ExportReport,
    progress: Progress | None,
) -> None:
    import bagit

    # bagit moves the payload into data/ when it makes the bag; a run killed in between
    # finds it there and moves it back, then copies only what is missing.
    if (staging / "data").is_dir() and not (staging / "bagit.txt").exists():
        for child in (staging / "data").iterdir():
            child.rename(staging / child.name)
        (staging / "data").rmdir()
    bagged = (staging / "bagit.txt").exists()
    payload = staging / "data" if bagged else staging
    payload.mkdir(parents=True, exist_ok=True)
    lake = open_lake(env)
    total = sum(1 for f in content["files"] if f["stored_at"])
    for entry in content["files"]:
        if entry["stored_at"] is None:
            report.files_missing.append(entry["lake_key"])
            continue
        _copy_file(lake, entry, payload / entry["bag_path"], report)
        if progress:
            progress("files", 1, total)
    _write_metadata(content, payload / "metadata")
    if not bagged:
        bag = bagit.make_bag(str(staging), _bag_info(project), checksums=["sha256"])
    else:
        bag = bagit.Bag(str(staging))
        bag.save(manifests=True)
    try:
        bag.validate()
    except bagit.BagValidationError as exc:
        raise StorageError(f"the exported bag {staging} did not validate: {exc}") from None


def _bag_info(project: Project) -> dict[str, str]:
    return {
        "Source-Organization": project.owner or "unknown",
        "External-Identifier": project.code,
        "External-Description": project.title or project.code,
    }


def _copy_file(lake: Lake, entry: dict[str, Any], path: Path, report: ExportReport) -> None:
    """Stream one lake file into the bag, verified; a file already there whole is kept."""
    if path.is_file() and path.stat().st_size == entry["size_bytes"]:
        report.files_reused += 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with lake.open_read(entry["lake_key"]) as source, open(partial, "wb") as handle:
        sha256 = copy_stream_sha256(source, handle, chunk=CHUNK)
    if entry["sha256"] and sha256 != entry["sha256"]:
        partial.unlink()
        raise StorageError(
            f"{entry['lake_key']} does not match its catalog sha256; run inv lake.check"
        )
    partial.replace(path)
    report.files_copied += 1
    report.bytes_copied += path.stat().st_size


def _write_metadata(content: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for row in content["experiments"]:
        merged = {**row["individual_metadata"], **row["sample_metadata"]}
        rows.append(
            {
                "project": content["project"]["code"],
                "individual": row["individual"],
                "species": row["species"],
                "sample": row["sample"],
                "tissue": row["tissue"],
                "aliquot": row["aliquot"],
                "experiment": row["experiment"],
                "library_layout": row["library_layout"],
                "platform": row["platform"],
                **{k: v for k, v in merged.items() if k not in {"species", "tissue"}},
            }
        )
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    with open(folder / "samples.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or ["project"])
        writer.writeheader()
        writer.writerows(rows)
    document = {key: content[key] for key in ("project", "experiments", "analyses", "files")}
    (folder / "project.json").write_text(json.dumps(document, indent=2, default=str) + "\n")


def _upload_bag(env: Environment, bag_dir: Path, url: str) -> int:
    """Upload every file of the bag (skipping those already there whole), then check each."""
    from common.files import file_sha256
    from common.lake import open_lake_at

    target = open_lake_at(url, env)
    uploaded = 0
    files = sorted(p for p in bag_dir.rglob("*") if p.is_file())
    for path in files:
        key = path.relative_to(bag_dir).as_posix()
        sha256 = file_sha256(path)
        info = target.stat(key)
        if info is None or info.sha256 != sha256 or info.size != path.stat().st_size:
            target.put_file(key, path, sha256=sha256)
            uploaded += 1
    for path in files:
        info = target.stat(path.relative_to(bag_dir).as_posix())
        if info is None or info.size != path.stat().st_size:
            raise StorageError(f"{url}/{path.relative_to(bag_dir)} did not verify after upload")
    return uploaded
