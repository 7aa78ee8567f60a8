"""The `download` handler: one original file from its source into the lake, verified.

The bytes land in a partial file in the lake's staging folder (named from the file id, so a
retry resumes — unless a re-survey changed what the source promises: a note beside the partial
names the promise it was started for), are checked against the size and md5 the source
promised, and are then put into the lake atomically under the file's catalog key. Only then
does the file row get its sha256 and stored_at. When the last original file of an experiment
is stored, the experiment's process job is queued (`[pipeline] application`, default fastq_qc),
and a salmon quantification when the experiment is RNA-seq of an organism with a transcriptome
index (`workers.processors.quantify`); then the process job waits for the quantification's end,
whatever it is, so the two never share the cores (`needs_success=False`). A microarray is
processed with the other arrays of its project and platform instead: their `affy` job is queued
once the last of their CEL files is stored (`workers.processors.affy`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import catalog
from common.lake.s3 import s3_client
from common.settings.jobs import DownloadSettings, PipelineSettings
from foreman.jobs import enqueue_job
from workers.downloaders.partials import partial_path
from workers.downloaders.transfer import DownloadFailed, fetch
from workers.processors.quantify import queue_quantification_after_download
from workers.registry import JobContext, handler


def started_for(partial: Path, record: catalog.FileToDownload) -> Path:
    """Keep `partial` only if it was started for the promise the catalog holds now.

    A re-delivery surveyed before the file was stored changes the promise (location, size,
    md5); bytes of the old content must not be resumed into the new. Returns the note file
    beside the partial that names the promise."""
    note = partial.with_name(partial.name + ".promise")
    promise = f"{record.source_url}\n{record.size_bytes}\n{record.source_md5}\n"
    try:
        current = note.read_text()
    except FileNotFoundError:
        current = None
    if current != promise:
        partial.unlink(missing_ok=True)
        note.write_text(promise)
    return note


def process_dedupe_key(application: str, experiment_id: int) -> str:
    return f"process:{application}:experiment:{experiment_id}"


@handler("download", "download")
def download_file(ctx: JobContext) -> dict[str, Any]:
    """Fetch, verify and store one original file; queue processing when its experiment is done."""
    try:
        file_id = int(ctx.job.payload["file_id"])
    except (KeyError, TypeError, ValueError):
        raise DownloadFailed("download payload needs an integer 'file_id'") from None
    record = catalog.get_file_for_download(ctx.conn, file_id)
    if record.kind != "original" or record.experiment_id is None:
        raise DownloadFailed(f"file {file_id} is a computed file; only originals are downloaded")
    stored = ctx.lake.stat(record.lake_key) if record.stored_at else None
    if stored is not None and stored.size == record.size_bytes:
        process_job = queue_processing(ctx, record.experiment_id)
        return {
            "file_id": file_id,
            "lake_key": record.lake_key,
            "already_stored": True,
            "process_job_id": process_job,
        }
    settings = DownloadSettings.for_environment(ctx.env)
    partial = partial_path(ctx.lake, file_id)
    note = started_for(partial, record)
    with ctx.transfers.watch(f"download of {record.source_url}"):
        transfer = fetch(
            record.source_url,
            partial,
            expected_size=record.size_bytes,
            retries=settings.retries,
            timeout=settings.timeout_seconds,
            chunk_bytes=settings.chunk_bytes,
            moved=ctx.transfers.moved,
            s3_client=s3_client(ctx.env) if record.source_url.startswith("s3://") else None,
        )
    problem = _verification_problem(record, transfer.size, transfer.md5)
    if problem:
        partial.unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        raise DownloadFailed(f"file {file_id} ({record.name}): {problem}; nothing was stored")
    ctx.lake.put_file(record.lake_key, partial, sha256=transfer.sha256)
    partial.unlink(missing_ok=True)
    note.unlink(missing_ok=True)
    catalog.mark_file_stored(ctx.conn, record, sha256=transfer.sha256, size_bytes=transfer.size)
    process_job = queue_processing(ctx, record.experiment_id)
    ctx.log.info("stored file %s as %s (%d bytes)", file_id, record.lake_key, transfer.size)
    return {
        "file_id": file_id,
        "lake_key": record.lake_key,
        "size_bytes": transfer.size,
        "sha256": transfer.sha256,
        "resumed_from": transfer.resumed_from,
        "requests": transfer.requests,
        "process_job_id": process_job,
    }


def _verification_problem(record: catalog.FileToDownload, size: int, md5: str) -> str:
    if record.size_bytes is not None and size != record.size_bytes:
        return f"size mismatch: the source promised {record.size_bytes} bytes, got {size}"
    if record.source_md5 and md5 != record.source_md5.lower():
        return f"checksum mismatch: md5 {md5} but the source promised {record.source_md5}"
    return ""


def queue_processing(ctx: JobContext, experiment_id: int) -> int | None:
    """Queue the experiment's process job once all its originals are stored (else None)."""
    if not catalog.experiment_fully_stored(ctx.conn, experiment_id):
        return None
    # Imported here: RMA's module brings numpy, which a download that queues nothing never needs.
    from workers.processors.affy import queue_after_download as queue_arrays_after_download

    array, arrays_job = queue_arrays_after_download(ctx, experiment_id)
    if array:
        return arrays_job
    # Salmon first; the report waits for its end (any end): the two read the same reads, and
    # side by side on a small machine's cores they slowed salmon by a third.
    quantification = queue_quantification_after_download(ctx, experiment_id)
    settings = PipelineSettings.for_environment(ctx.env)
    job_id, _created = enqueue_job(
        ctx.conn,
        "process",
        {
            "application": settings.application,
            "experiment_ids": [experiment_id],
            "run_by": ctx.env.bot_user,
        },
        parent_job_id=ctx.job.id,
        dedupe_key=process_dedupe_key(settings.application, experiment_id),
        depends_on=quantification,
        needs_success=False,
    )
    return job_id
