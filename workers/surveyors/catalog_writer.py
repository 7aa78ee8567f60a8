"""What every surveyor hands over: runs with their files, written to the catalog in one go.

A surveyor only discovers; this module turns what it found into catalog rows (natural keys,
nothing added on a second survey) and one download job per file. Everything goes through the
job's connection, so it commits with the survey's success or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from psycopg2.extensions import connection as Connection

from common import catalog
from common.errors import ValidationError
from common.files import file_sha256
from common.lake.layout import original_file_key
from foreman.jobs import enqueue_job


@dataclass(frozen=True)
class SurveyedFile:
    """One file as the source describes it."""

    name: str
    source_url: str
    size_bytes: int | None = None
    md5: str | None = None


@dataclass(frozen=True)
class SurveyedRun:
    """One sequencing run (an experiment) with everything above it in the catalog."""

    project: str
    individual: str
    sample: str
    aliquot: str
    experiment: str
    files: tuple[SurveyedFile, ...]
    project_title: str = ""
    species: str = ""
    tissue: str = ""
    sample_metadata: dict[str, Any] = field(default_factory=dict)
    library_layout: str = ""
    platform: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # The import schema (kind, version) the source followed and where it came from; a source
    # without a schema (an archive's own records) leaves it None.
    schema: tuple[str, int] | None = None
    origin: str = ""


def refuse_changed_local_content(conn: Connection, file_id: int, name: str) -> None:
    """A stored file whose local source (file://) changed after it was stored is refused.

    Size, md5 and location are compared by the catalog; a same-size rewrite without an md5
    is found here. Only a source touched since the download started (ctime or mtime after
    stored_at: ctime cannot be set back by a copy that keeps times) is read and hashed."""
    existing = catalog.stored_original(conn, file_id)
    parsed = urlparse(existing.source_url)
    if parsed.scheme != "file" or existing.stored_at is None or not existing.sha256:
        return
    path = Path(unquote(parsed.path))
    try:
        st = path.stat()
    except FileNotFoundError:
        return  # the sheet's validation has already required it; gone since: nothing to read
    if max(st.st_mtime, st.st_ctime) < existing.stored_at.timestamp():
        return
    sha256 = file_sha256(path)
    if sha256 != existing.sha256:
        raise ValidationError(
            f"{name} is already stored, but the source's content changed since (sha256 "
            f"{existing.sha256[:12]}... -> {sha256[:12]}...); a changed re-delivery "
            "is refused and nothing was changed"
        )


def download_dedupe_key(file_id: int) -> str:
    return f"download:file:{file_id}"


def record_runs(
    conn: Connection, source: str, runs: list[SurveyedRun], *, parent_job_id: int | None
) -> dict[str, Any]:
    """Catalog `runs` and queue a download per file; returns counts of what was new."""
    created = {"projects": 0, "individuals": 0, "samples": 0, "aliquots": 0, "experiments": 0}
    created_files = 0
    updated_files: list[str] = []
    created_jobs = 0
    download_job_ids: list[int] = []
    for run in runs:
        project_id, new = catalog.upsert_project(conn, source, run.project, title=run.project_title)
        created["projects"] += new
        import_id = None
        if run.schema is not None:
            kind, version = run.schema
            import_id, _ = catalog.upsert_import(conn, project_id, kind, version, run.origin)
        individual_id, new = catalog.upsert_individual(
            conn, project_id, run.individual, species=run.species
        )
        created["individuals"] += new
        sample_id, new = catalog.upsert_sample(
            conn,
            individual_id,
            run.sample,
            tissue=run.tissue,
            metadata=run.sample_metadata,
            import_id=import_id,
        )
        created["samples"] += new
        aliquot_id, new = catalog.upsert_aliquot(conn, sample_id, run.aliquot)
        created["aliquots"] += new
        experiment_id, new = catalog.upsert_experiment(
            conn,
            aliquot_id,
            run.experiment,
            library_layout=run.library_layout,
            platform=run.platform,
            metadata=run.metadata,
            import_id=import_id,
        )
        created["experiments"] += new
        keys = [
            original_file_key(source, run.project, run.experiment, surveyed.name)
            for surveyed in run.files
        ]
        if len(set(keys)) != len(keys):
            raise ValidationError(
                f"run {run.experiment}: two files have names that map to the same lake key "
                f"({', '.join(f.name for f in run.files)}); rename one"
            )
        for surveyed, key in zip(run.files, keys, strict=True):
            file_id, outcome = catalog.insert_original_file(
                conn,
                experiment_id,
                surveyed.name,
                key,
                source_url=surveyed.source_url,
                size_bytes=surveyed.size_bytes,
                source_md5=surveyed.md5,
            )
            if outcome == "unchanged":
                refuse_changed_local_content(conn, file_id, surveyed.name)
            created_files += outcome == "created"
            if outcome == "updated":
                updated_files.append(f"{run.experiment}/{surveyed.name}")
            job_id, job_created = enqueue_job(
                conn,
                "download",
                {"file_id": file_id},
                parent_job_id=parent_job_id,
                dedupe_key=download_dedupe_key(file_id),
            )
            created_jobs += job_created
            download_job_ids.append(job_id)
    return {
        "runs": len(runs),
        "created": {**created, "files": created_files, "download_jobs": created_jobs},
        "download_job_ids": download_job_ids,
        # not yet stored, so they take what the source promises now (a re-delivery)
        "updated_files": updated_files,
    }
