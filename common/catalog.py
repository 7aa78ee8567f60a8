"""Catalog writes and reads: projects down to files, analyses and their computed files.

Every write takes the caller's connection and never commits: a job handler's rows commit
together with its attempt's success, so a crash leaves nothing half-written. Inserts are keyed
on each table's natural key and change nothing on a conflict, so surveying a source twice adds
no rows. Each `upsert_*` returns (id, created).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, RealDictCursor

from common.db import fetch_one
from common.errors import JobError, ValidationError
from common.lake.layout import analysis_prefix
from common.sql import query


def _sql(name: str) -> str:
    return query(__file__, "catalog.sql", name)


def _upsert(conn: Connection, name: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """Run an insert-or-select query; retried once when a concurrent insert hid the row."""
    for _ in range(2):
        with conn.cursor() as cur:
            cur.execute(_sql(name), params)
            row = cur.fetchone()
        if row is not None:
            return tuple(row)
    raise JobError(f"catalog write {name} found no row after a conflict; retry the job")


def upsert_project(
    conn: Connection, source: str, accession: str, *, title: str = ""
) -> tuple[int, bool]:
    project_id, created = _upsert(
        conn, "insert_project", {"source": source, "accession": accession, "title": title}
    )
    if not created and title:
        with conn.cursor() as cur:
            cur.execute(_sql("fill_project_title"), {"id": project_id, "title": title})
    return project_id, created


def describe_project(
    conn: Connection, project_id: int, *, summary: str, metadata: dict[str, Any]
) -> None:
    """Record what a public series says about itself (its summary and other descriptive
    fields); a later survey records the series' description as it then reads."""
    with conn.cursor() as cur:
        cur.execute(
            _sql("describe_project"),
            {"id": project_id, "summary": summary, "metadata": Json(metadata)},
        )


def upsert_individual(
    conn: Connection, project_id: int, name: str, *, species: str = ""
) -> tuple[int, bool]:
    return _upsert(
        conn,
        "insert_individual",
        {"project_id": project_id, "name": name, "species": species},
    )


def upsert_sample(
    conn: Connection,
    individual_id: int,
    name: str,
    *,
    tissue: str = "",
    metadata: dict[str, Any] | None = None,
    import_id: int | None = None,
) -> tuple[int, bool]:
    return _upsert(
        conn,
        "insert_sample",
        {
            "individual_id": individual_id,
            "name": name,
            "tissue": tissue,
            "metadata": Json(metadata or {}),
            "import_id": import_id,
        },
    )


def upsert_import(
    conn: Connection, project_id: int, kind: str, schema_version: int, origin: str
) -> tuple[int, bool]:
    """The import of `origin` into the project under `kind` schema `schema_version`."""
    return _upsert(
        conn,
        "insert_import",
        {
            "project_id": project_id,
            "kind": kind,
            "schema_version": schema_version,
            "origin": origin,
        },
    )


def upsert_aliquot(conn: Connection, sample_id: int, name: str) -> tuple[int, bool]:
    return _upsert(conn, "insert_aliquot", {"sample_id": sample_id, "name": name})


def upsert_experiment(
    conn: Connection,
    aliquot_id: int,
    accession: str,
    *,
    library_layout: str = "",
    platform: str = "",
    metadata: dict[str, Any] | None = None,
    import_id: int | None = None,
) -> tuple[int, bool]:
    """The experiment `accession`; a ValidationError when it exists under another aliquot."""
    experiment_id, existing_aliquot, created = _upsert(
        conn,
        "insert_experiment",
        {
            "aliquot_id": aliquot_id,
            "accession": accession,
            "library_layout": library_layout,
            "platform": platform,
            "metadata": Json(metadata or {}),
            "import_id": import_id,
        },
    )
    if existing_aliquot != aliquot_id:
        raise ValidationError(
            f"experiment {accession} is already catalogued under another sample; "
            "fix the source's sample names or run ids"
        )
    return experiment_id, created


@dataclass(frozen=True)
class StoredOriginal:
    """An original file the catalog already has, as a re-survey finds it."""

    id: int
    source_url: str
    size_bytes: int | None
    source_md5: str | None
    sha256: str | None
    stored_at: datetime | None


def insert_original_file(
    conn: Connection,
    experiment_id: int,
    name: str,
    lake_key: str,
    *,
    source_url: str,
    size_bytes: int | None,
    source_md5: str | None,
) -> tuple[int, str]:
    """An original file of an experiment: (id, what happened) — "created", "unchanged", or
    "updated" (not stored yet, so it takes the source's newest promise).

    A stored file whose source now promises another size, md5 or location is refused with a
    ValidationError saying what changed: its bytes are in the lake and may have been analysed,
    so a re-delivery never replaces them silently (nor is it silently ignored)."""
    params = {
        "experiment_id": experiment_id,
        "name": name,
        "lake_key": lake_key,
        "source_url": source_url,
        "size_bytes": size_bytes,
        "source_md5": source_md5,
    }
    file_id, owner, created = _upsert(conn, "insert_original_file", params)
    if owner != experiment_id:
        raise ValidationError(f"lake key {lake_key} already belongs to another experiment")
    if created:
        return file_id, "created"
    existing = stored_original(conn, file_id)
    if existing.stored_at is not None:
        changes = promise_changes(existing, source_url, size_bytes, source_md5)
        if changes:
            raise ValidationError(
                f"{name} ({lake_key}) is already stored, but the source now differs: "
                f"{'; '.join(changes)}; a changed re-delivery is refused and nothing was changed"
            )
        return file_id, "unchanged"
    with conn.cursor() as cur:
        cur.execute(_sql("refresh_unstored_file"), {**params, "id": file_id})
        return file_id, "updated" if cur.fetchone() else "unchanged"


def stored_original(conn: Connection, file_id: int) -> StoredOriginal:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_original_file_promise"), {"id": file_id})
        return StoredOriginal(id=file_id, **fetch_one(cur))


def promise_changes(
    existing: StoredOriginal, source_url: str, size_bytes: int | None, source_md5: str | None
) -> list[str]:
    """How what a source says now differs from a stored file: size, md5, location."""
    changes = []
    if size_bytes is not None and size_bytes != existing.size_bytes:
        changes.append(f"size {existing.size_bytes} -> {size_bytes} bytes")
    if (source_md5 or None) != (existing.source_md5 or None):
        changes.append(f"md5 {existing.source_md5 or 'none'} -> {source_md5 or 'none'}")
    if source_url != existing.source_url:
        changes.append(f"source {existing.source_url} -> {source_url}")
    return changes


@dataclass(frozen=True)
class FileToDownload:
    """What a downloader needs to know about one original file."""

    id: int
    kind: str
    name: str
    lake_key: str
    source_url: str
    size_bytes: int | None
    source_md5: str | None
    sha256: str | None
    stored_at: datetime | None
    experiment_id: int | None
    experiment_accession: str | None


def get_file_for_download(conn: Connection, file_id: int) -> FileToDownload:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_file_for_download"), {"file_id": file_id})
        row = cur.fetchone()
    if row is None:
        raise JobError(f"file {file_id} is not in the catalog; was it deleted after the survey?")
    return FileToDownload(**row)


def mark_file_stored(
    conn: Connection, file: FileToDownload, *, sha256: str, size_bytes: int
) -> None:
    """Record `file` stored, if the catalog still holds the promise it was verified against."""
    with conn.cursor() as cur:
        cur.execute(
            _sql("mark_file_stored"),
            {
                "file_id": file.id,
                "sha256": sha256,
                "size_bytes": size_bytes,
                "source_url": file.source_url,
                "promised_size": file.size_bytes,
                "source_md5": file.source_md5,
            },
        )
        if cur.fetchone() is not None:
            return
        cur.execute(_sql("file_exists"), {"file_id": file.id})
        if cur.fetchone() is None:
            raise JobError(f"file {file.id} vanished from the catalog while it was downloaded")
    raise JobError(
        f"file {file.id} ({file.name}): its source was re-surveyed with another size, md5 or "
        "location during the download; the retry fetches the new one"
    )


def experiment_fully_stored(conn: Connection, experiment_id: int) -> bool:
    """Whether every original file of the experiment is stored.

    Locks the experiment row first, so that of two downloads finishing at once the second one
    waits for the first to commit and then sees its file stored: exactly one of them sees the
    experiment complete.
    """
    with conn.cursor() as cur:
        cur.execute(_sql("lock_experiment"), {"experiment_id": experiment_id})
        cur.execute(_sql("count_unstored_originals"), {"experiment_id": experiment_id})
        unstored, total = fetch_one(cur)
    return total > 0 and unstored == 0


def original_files(conn: Connection, experiment_id: int) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_original_files"), {"experiment_id": experiment_id})
        return [dict(row) for row in cur.fetchall()]


def get_experiment(conn: Connection, experiment_id: int) -> dict[str, Any]:
    """An experiment with its aliquot, sample, individual and project names."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_experiment"), {"experiment_id": experiment_id})
        row = cur.fetchone()
    if row is None:
        raise JobError(f"experiment {experiment_id} is not in the catalog")
    return dict(row)


def create_analysis(
    conn: Connection,
    application: str,
    version: str,
    run_by: str,
    experiment_ids: list[int],
    *,
    metadata: dict[str, Any] | None = None,
) -> int:
    """A new analysis (status CREATED) targeting `experiment_ids`."""
    with conn.cursor() as cur:
        cur.execute(
            _sql("insert_analysis"),
            {
                "application": application,
                "version": version,
                "run_by": run_by,
                "metadata": Json(metadata or {}),
            },
        )
        (analysis_id,) = fetch_one(cur)
    add_analysis_targets(conn, analysis_id, experiment_ids)
    return analysis_id


def add_analysis_targets(conn: Connection, analysis_id: int, experiment_ids: list[int]) -> None:
    with conn.cursor() as cur:
        for experiment_id in experiment_ids:
            cur.execute(
                _sql("insert_analysis_target"),
                {"analysis_id": analysis_id, "experiment_id": experiment_id},
            )


def get_analysis(conn: Connection, analysis_id: int) -> dict[str, Any]:
    """The analysis row, locked for this transaction."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_analysis"), {"analysis_id": analysis_id})
        row = cur.fetchone()
    if row is None:
        raise JobError(f"analysis {analysis_id} does not exist")
    return dict(row)


def start_analysis(conn: Connection, analysis_id: int) -> str:
    """CREATED → STARTED; sets results_location and returns it (the lake prefix)."""
    location = analysis_prefix(analysis_id)
    with conn.cursor() as cur:
        cur.execute(
            _sql("start_analysis"), {"analysis_id": analysis_id, "results_location": location}
        )
        if cur.fetchone() is None:
            raise JobError(f"analysis {analysis_id} is past STARTED; create a new analysis")
    return location


def merge_analysis_metadata(conn: Connection, analysis_id: int, metadata: dict[str, Any]) -> None:
    """Add `metadata`'s keys to the analysis's metadata (provenance such as tool versions)."""
    with conn.cursor() as cur:
        cur.execute(
            _sql("merge_analysis_metadata"),
            {"analysis_id": analysis_id, "metadata": Json(metadata)},
        )


def finish_analysis(conn: Connection, analysis_id: int) -> None:
    """STARTED → FINISHED (sealing later makes it SUCCEEDED)."""
    with conn.cursor() as cur:
        cur.execute(_sql("finish_analysis"), {"analysis_id": analysis_id})
        if cur.fetchone() is None:
            raise JobError(f"analysis {analysis_id} was not STARTED; cannot finish it")


def insert_computed_file(
    conn: Connection, analysis_id: int, name: str, lake_key: str, *, size_bytes: int, sha256: str
) -> int:
    with conn.cursor() as cur:
        cur.execute(
            _sql("insert_computed_file"),
            {
                "analysis_id": analysis_id,
                "name": name,
                "lake_key": lake_key,
                "size_bytes": size_bytes,
                "sha256": sha256,
            },
        )
        row = cur.fetchone()
    if row is None:
        raise JobError(f"lake key {lake_key} already belongs to another analysis")
    return row[0]


def qc_results(conn: Connection) -> list[dict[str, Any]]:
    """Every experiment with its newest finished fastq_qc analysis and qc.json key (or None)."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_qc_results"))
        return [dict(row) for row in cur.fetchall()]
