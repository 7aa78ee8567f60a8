"""The `fastq_qc` application: `qc.json` holds reads, bases, GC %, mean Phred quality and the
length distribution per file and per experiment (`fastq_stats`). A file without reads fails QC.
"""

from __future__ import annotations

from typing import Any

from workers.processors.applications import json_bytes, run_application
from workers.processors.fastq_stats import FastqStats, MalformedFastq, fastq_stats
from workers.registry import JobContext, handler


def quality_control(ctx: JobContext, experiments: list[dict[str, Any]]) -> dict[str, bytes]:
    report: dict[str, Any] = {"application": "fastq_qc", "experiments": {}}
    for experiment in experiments:
        total = FastqStats()
        per_file = {}
        for original in experiment["files"]:
            with ctx.lake.open_read(original["lake_key"]) as raw:
                try:
                    stats = fastq_stats(raw)
                except MalformedFastq as exc:
                    raise MalformedFastq(f"{original['name']}: {exc}") from None
            if stats.reads == 0:
                # An empty file is a failed delivery or transfer, not a sample with no reads.
                raise MalformedFastq(f"{original['name']}: no reads (the file is empty)")
            per_file[original["name"]] = stats.summary()
            total.merge(stats)
        report["experiments"][str(experiment["id"])] = {
            "accession": experiment["accession"],
            "sample": experiment["sample"],
            "individual": experiment["individual"],
            "library_layout": experiment["library_layout"],
            "total": total.summary(),
            "files": per_file,
        }
        ctx.log.info("QC of %s: %d reads", experiment["accession"], total.reads)
    return {"qc.json": json_bytes(report)}


@handler("process", "fastq_qc")
def process_fastq_qc(ctx: JobContext) -> dict[str, Any]:
    """Quality statistics of every FASTQ file of the experiments."""
    return run_application(ctx, quality_control)
