"""What every surveyor hands over: runs with their files, written to the catalog in one go.

A surveyor only discovers; this module turns what it found into catalog rows (natural keys,
nothing added on a second survey) and one download job per file. Everything goes through the
job's connection, so it commits with the survey's success or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common import catalog
from common.errors import ValidationError
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


def download_dedupe_key(file_id: int) -> str:
    return f"download:file:{file_id}"


def record_runs(
    conn, source: str, runs: list[SurveyedRun], *, parent_job_id: int | None
) -> dict[str, Any]:
    """Catalog `runs` and queue a download per file; returns counts of what was new."""
    created = {"projects": 0, "individuals": 0, "samples": 0, "aliquots": 0, "experiments": 0}
    created_files = 0
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
            file_id, new = catalog.insert_original_file(
                conn,
                experiment_id,
                surveyed.name,
                key,
                source_url=surveyed.source_url,
                size_bytes=surveyed.size_bytes,
                source_md5=surveyed.md5,
            )
            created_files += new
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
    }
