"""The `salmon` application: one RNA-seq sample quantified against its organism's index.

Queued beside the `[pipeline]` application once an experiment's files are stored, when
`[rnaseq] quantify` is on, the experiment's organism has a transcriptome index and its source
does not say it is something other than RNA-seq. A job for an index still being built waits
for the index job (`depends_on`): the foreman dispatches it only once the index succeeded, and
fails it with the index's reason if it failed for good.

The handler picks the long (k=31) or short (k=23) index by the sample's read length, runs
`salmon quant` (`workers.processors.salmon_tool`) with `[rnaseq] salmon_threads`, and keeps
`quant.sf`, `lib_format_counts.json` and `meta_info.json` as the analysis's computed files;
the analysis's metadata records the index id, salmon version, mapping rate and library type.
A sample mapping below `[rnaseq] mapping_floor_percent` fails for good with that reason.
When the project's last quantification ends — succeeded here, or failed (its `on_failure`
job) — the project's gene-level summary is queued (`workers.processors.gene_matrix`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from psycopg2.extensions import connection as Connection

from common import catalog
from common.errors import JobError, ValidationError
from common.settings.jobs import RnaSeqSettings
from common.sql import query
from foreman.jobs import enqueue_job
from workers.processors.applications import run_application
from workers.processors.fastq_streams import open_fastq
from workers.processors.indices import fetch_index, get_index, index_for_organism
from workers.processors.salmon_tool import INDEX_KMERS, SalmonFailed, quantify, salmon_version
from workers.registry import JobContext, handler

READS_FOR_LENGTH = 1000


class MappingRateTooLow(ValidationError):
    """The sample maps too little of its reads to the organism: the wrong organism, or not
    RNA-seq; no retry changes that."""


def rnaseq_query(name: str) -> str:
    """A named query of the RNA-seq pipeline (`rnaseq.sql`)."""
    return query(__file__, "rnaseq.sql", name)


_sql = rnaseq_query


def summary_job_spec(project_id: int, run_by: str, dedupe_key: str) -> dict[str, Any]:
    return {
        "kind": "process",
        "payload": {"application": "summarise", "project_id": project_id, "run_by": run_by},
        "dedupe_key": dedupe_key,
    }


def queue_quantification(
    conn: Connection, experiment: dict[str, Any], run_by: str, *, parent_job_id: int | None,
    index: dict[str, Any] | None = None, settings_quantify: bool = True,
) -> int | None:  # fmt: skip
    """Queue `experiment`'s salmon job (the caller commits); None when it is not to be
    quantified: quantifying is off, it is not RNA-seq, or its organism has no index."""
    if not settings_quantify:
        return None
    strategy = str((experiment.get("metadata") or {}).get("library_strategy") or "")
    if strategy and strategy.upper() != "RNA-SEQ":
        return None
    index = index or index_for_organism(conn, experiment.get("species") or "")
    if index is None:
        return None
    project_id, experiment_id = int(experiment["project_id"]), int(experiment["id"])
    payload = {
        "application": "salmon",
        "experiment_ids": [experiment_id],
        "project_id": project_id,
        "index_id": int(index["id"]),
        "run_by": run_by,
        "on_failure": summary_job_spec(
            project_id, run_by,
            f"process:summarise:project:{project_id}:failed:{experiment_id}:{index['id']}",
        ),
    }  # fmt: skip
    job_id, _ = enqueue_job(
        conn,
        "process",
        payload,
        parent_job_id=parent_job_id,
        dedupe_key=f"process:salmon:experiment:{experiment_id}:index:{index['id']}",
        depends_on=None if index["state"] == "ready" else index["job_id"],
    )
    return job_id


def _read_length(path: Path) -> int:
    """The longest of the first reads of a FASTQ (plain or gzipped)."""
    longest = 0
    with open(path, "rb") as raw:
        stream = open_fastq(raw)
        for number, line in enumerate(stream):
            if number % 4 == 1:
                longest = max(longest, len(line.rstrip(b"\r\n")))
            if number >= 4 * READS_FOR_LENGTH:
                break
    if longest == 0:
        raise ValidationError(f"{path.name}: no reads")
    return longest


def local_copy(ctx: JobContext, original: dict[str, Any], folder: Path) -> Path:
    """The original file's path on this machine: the lake's own file, or a copy in `folder`."""
    local = ctx.lake.local_path(original["lake_key"])
    if local is not None:
        return local
    target = folder / Path(original["lake_key"]).name
    with ctx.lake.open_read(original["lake_key"]) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
    return target


@handler("process", "salmon")
def process_salmon(ctx: JobContext) -> dict[str, Any]:
    """Quantify one sample with salmon; queue the project's summary once it is the last."""
    try:
        index_id = int(ctx.job.payload["index_id"])
    except (KeyError, TypeError, ValueError):
        raise ValidationError("salmon payload needs an integer 'index_id'") from None
    settings = RnaSeqSettings.for_environment(ctx.env)
    provenance: dict[str, Any] = {}

    def compute(ctx: JobContext, experiments: list[dict[str, Any]]) -> dict[str, bytes]:
        if len(experiments) != 1:
            raise ValidationError("salmon quantifies one experiment (sample) per job")
        (experiment,) = experiments
        index = get_index(ctx.conn, index_id)
        if index["state"] != "ready":
            raise JobError(f"transcriptome index {index_id} is not built yet")
        inputs = ctx.scratch_dir / "reads"
        inputs.mkdir()
        reads = [
            local_copy(ctx, f, inputs) for f in sorted(experiment["files"], key=lambda f: f["name"])
        ]
        read_length = _read_length(reads[0])
        kind = "long" if read_length >= settings.long_read_min_length else "short"
        index_dir = fetch_index(ctx, index, kind, ctx.scratch_dir / "index")
        try:
            result = quantify(index_dir, reads, ctx.scratch_dir / "quant",
                              threads=settings.salmon_threads)  # fmt: skip
        except SalmonFailed:
            _same_salmon(index, salmon_version())  # the likelier reason, when they differ
            raise
        # The version salmon recorded, not a `salmon --version` of its own before every sample.
        version = _same_salmon(index, result.salmon_version)
        if result.percent_mapped < settings.mapping_floor_percent:
            raise MappingRateTooLow(
                f"{experiment['accession']}: mapping rate {result.percent_mapped:.1f}% is below "
                f"the floor of {settings.mapping_floor_percent:g}% ([rnaseq] mapping_floor_percent)"
            )
        if not result.complete:
            raise MappingRateTooLow(
                f"{experiment['accession']}: salmon mapped too few reads to quantify "
                f"({result.mapped} of {result.reads})"
            )
        provenance.update({
            "index_id": index_id, "index_kind": kind, "kmer": INDEX_KMERS[kind],
            "salmon_version": version, "percent_mapped": round(result.percent_mapped, 4),
            "library_type": result.library_type, "reads": result.reads, "mapped": result.mapped,
            "read_length": read_length, "paired": len(reads) == 2,
            "threads": settings.salmon_threads, "memory_mb": ctx.memory_mb,
        })  # fmt: skip
        ctx.log.info("salmon quantified %s: %.1f%% mapped", experiment["accession"],
                     result.percent_mapped)  # fmt: skip
        folder = result.folder
        return {
            "quant.sf": (folder / "quant.sf").read_bytes(),
            "lib_format_counts.json": (folder / "lib_format_counts.json").read_bytes(),
            "meta_info.json": (folder / "aux_info" / "meta_info.json").read_bytes(),
        }

    outcome = run_application(ctx, compute, metadata=provenance)
    project_id = ctx.job.payload.get("project_id")
    if isinstance(project_id, int):
        outcome["summary_job_id"] = queue_summary_if_last(ctx, project_id)
    return outcome


def _same_salmon(index: dict[str, Any], version: str) -> str:
    """`version` when it is the salmon that built `index` (an index is read by its own
    version only, and a gene matrix never mixes two), else a JobError saying so."""
    if version != index["salmon_version"]:
        raise JobError(
            f"index {index['id']} was built by salmon {index['salmon_version']}; "
            f"this worker has {version or 'an unknown version'}"
        )
    return version


def queue_summary_if_last(ctx: JobContext, project_id: int) -> int | None:
    """Queue the project's summary when no other quantification of it is still active."""
    with ctx.conn.cursor() as cur:
        cur.execute(_sql("lock_project"), {"project_id": project_id})
        cur.execute(_sql("active_quantifications"),
                    {"project_id": project_id, "job_id": ctx.job.id})  # fmt: skip
        (active,) = cur.fetchone()
    if active:
        return None
    spec = summary_job_spec(
        project_id, str(ctx.job.payload.get("run_by") or ctx.env.bot_user),
        f"process:summarise:project:{project_id}:after:{ctx.job.id}",
    )  # fmt: skip
    job_id, _ = enqueue_job(ctx.conn, spec["kind"], spec["payload"], parent_job_id=ctx.job.id,
                            dedupe_key=spec["dedupe_key"])  # fmt: skip
    return job_id


def queue_quantification_after_download(ctx: JobContext, experiment_id: int) -> int | None:
    """The download handler's hook: queue salmon for a stored RNA-seq experiment."""
    experiment = catalog.get_experiment(ctx.conn, experiment_id)
    quantify_on = RnaSeqSettings.for_environment(ctx.env).quantify
    return queue_quantification(
        ctx.conn, experiment, ctx.env.bot_user, parent_job_id=ctx.job.id,
        settings_quantify=quantify_on,
    )  # fmt: skip
