"""The process handlers: an analysis of some experiments, its computed files in the lake.

Every application follows one lifecycle (`run_application`; an application outside this
package may use it too): an analyses row (CREATED, or the payload's `analysis_id`) recording
the application's name and the version its manifest declares (`applications.toml`, see
`common.applications`), with its targets → STARTED with results_location `analyses/<id>/` →
computed files written to the lake and registered → FINISHED. All rows commit with the job's
success; if the handler fails, the lake objects it wrote are removed again, so a retry starts
clean.

    no_op      registers the inputs only: `manifest.json` lists the original files used.
    fastq_qc   `qc.json` (workers.processors.fastq_qc).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from common import catalog
from common.errors import JobError, ValidationError
from common.lake.layout import computed_file_key
from workers.registry import JobContext, handler

Compute = Callable[[JobContext, list[dict[str, Any]]], dict[str, bytes]]


def _payload(ctx: JobContext) -> tuple[list[int], str, int | None]:
    payload = ctx.job.payload
    ids = payload.get("experiment_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise ValidationError("process payload needs 'experiment_ids': a list of integers")
    run_by = payload.get("run_by")
    if not isinstance(run_by, str) or not run_by:
        raise ValidationError("process payload needs 'run_by': who the analysis is run by")
    analysis_id = payload.get("analysis_id")
    if analysis_id is not None and not isinstance(analysis_id, int):
        raise ValidationError("process payload 'analysis_id' must be an integer")
    return sorted(set(ids)), run_by, analysis_id


def run_application(
    ctx: JobContext, compute: Compute, *, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The shared lifecycle around `compute`, which returns {file name: content}, for the
    job's application (`ctx.application`: its name and the version its manifest declares, as
    the analysis records them); whatever `compute` put into `metadata` is recorded on the
    analysis (its provenance)."""
    experiment_ids, run_by, analysis_id = _payload(ctx)
    application, version = ctx.application.name, ctx.application.version
    experiments = []
    for experiment_id in experiment_ids:
        experiment = catalog.get_experiment(ctx.conn, experiment_id)
        experiment["files"] = catalog.original_files(ctx.conn, experiment_id)
        unstored = [f["name"] for f in experiment["files"] if f["stored_at"] is None]
        if unstored or not experiment["files"]:
            raise JobError(
                f"experiment {experiment['accession']} has files not yet stored "
                f"({', '.join(unstored) or 'none catalogued'}); download them first"
            )
        experiments.append(experiment)
    if analysis_id is None:
        analysis_id = catalog.create_analysis(
            ctx.conn, application, version, run_by, experiment_ids
        )
    else:
        existing = catalog.get_analysis(ctx.conn, analysis_id)
        if existing["application"] != application:
            raise ValidationError(
                f"analysis {analysis_id} is a {existing['application']} analysis, not {application}"
            )
        catalog.add_analysis_targets(ctx.conn, analysis_id, experiment_ids)
    location = catalog.start_analysis(ctx.conn, analysis_id)
    written: list[str] = []
    try:
        outputs = compute(ctx, experiments)
        files = []
        for name, content in outputs.items():
            key = computed_file_key(analysis_id, name)
            path = ctx.scratch_dir / name
            path.write_bytes(content)
            sha256 = hashlib.sha256(content).hexdigest()
            written.append(key)
            ctx.lake.put_file(key, path, sha256=sha256)
            path.unlink(missing_ok=True)
            catalog.insert_computed_file(
                ctx.conn, analysis_id, name, key, size_bytes=len(content), sha256=sha256
            )
            files.append(key)
        if metadata:
            catalog.merge_analysis_metadata(ctx.conn, analysis_id, metadata)
        catalog.finish_analysis(ctx.conn, analysis_id)
    except BaseException:
        for key in written:
            ctx.lake.delete(key)
        raise
    return {
        "application": application,
        "version": version,
        "analysis_id": analysis_id,
        "results_location": location,
        "computed_files": files,
        "experiment_ids": experiment_ids,
        **({"metadata": metadata} if metadata else {}),
    }


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode()


def manifest(ctx: JobContext, experiments: list[dict[str, Any]]) -> dict[str, bytes]:
    return {
        "manifest.json": json_bytes(
            {
                "experiments": [
                    {
                        "id": experiment["id"],
                        "accession": experiment["accession"],
                        "files": [
                            {
                                "name": f["name"],
                                "lake_key": f["lake_key"],
                                "size_bytes": f["size_bytes"],
                                "sha256": f["sha256"],
                            }
                            for f in experiment["files"]
                        ],
                    }
                    for experiment in experiments
                ]
            }
        )
    }


@handler("process", "no_op")
def process_no_op(ctx: JobContext) -> dict[str, Any]:
    """Record an analysis of the experiments without computing anything."""
    return run_application(ctx, manifest)
