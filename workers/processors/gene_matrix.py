"""The `summarise` application: a project's gene-level matrix from its samples' salmon results.

Queued when a project's last quantification ends (or forced by `inv analyses.summarise`).
It never waits for a sample that cannot come: a sample whose newest salmon job failed for
good is left out and named, with its reason, in `gene_matrix.json` beside the TSVs. It never
mixes indices or salmon versions: of the samples' newest results it uses those of the newest
index (and its salmon version) and names the samples it left out for having only older ones.
Each summary is a new analysis (a new version; older ones are kept); a summary whose inputs
equal the newest one's makes nothing new. Counts are tximport's `lengthScaledTPM`
(`workers.processors.tximport`); `gene_tpm.tsv` holds the summed TPM.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from typing import Any

from psycopg2.extras import RealDictCursor

from common import catalog
from common.errors import ValidationError
from common.lake.layout import computed_file_key
from common.sql import query
from workers.processors.indices import get_index
from workers.processors.transcriptome import read_tx2gene
from workers.processors.tximport import read_quant_sf, summarise_to_genes, write_gene_matrix
from workers.registry import JobContext, handler

COUNTS_FROM_ABUNDANCE = "lengthScaledTPM"


def _sql(name: str) -> str:
    return query(__file__, "rnaseq.sql", name)


def _rows(ctx: JobContext, name: str, project_id: int) -> list[dict[str, Any]]:
    with ctx.conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql(name), {"project_id": project_id, "job_id": ctx.job.id})
        return [dict(row) for row in cur.fetchall()]


def plan_summary(ctx: JobContext, project_id: int) -> dict[str, Any]:
    """Which results go into the project's matrix, and which samples are left out and why."""
    accession = {
        row["id"]: row["accession"] for row in _rows(ctx, "experiments_of_project", project_id)
    }
    newest: dict[int, dict[str, Any]] = {}
    for row in _rows(ctx, "quantifications", project_id):
        newest[row["experiment_id"]] = row  # ordered by analysis id: the last is the newest
    left_out: dict[str, str] = {}
    jobs = _rows(ctx, "quantification_jobs", project_id)
    for job in jobs:
        experiment = job["experiment_id"]
        if job["state"] in ("failed", "cancelled") and experiment not in newest:
            name = accession.get(experiment, str(experiment))
            left_out[name] = job["failure_reason"] or job["state"]
    active = [job for job in jobs if job["state"] not in ("succeeded", "failed", "cancelled")]
    if not newest:
        return {"results": [], "left_out": left_out, "active": len(active)}
    key = max((int(r["metadata"]["index_id"]), str(r["metadata"]["salmon_version"]))
              for r in newest.values())  # fmt: skip
    chosen = []
    for _experiment, row in sorted(newest.items()):
        used = (int(row["metadata"]["index_id"]), str(row["metadata"]["salmon_version"]))
        if used == key:
            chosen.append(row)
        else:
            left_out[row["accession"]] = (
                f"quantified with index {used[0]} and salmon {used[1]}, not the newest "
                f"(index {key[0]}, salmon {key[1]}); re-quantify it (inv analyses.requant)"
            )
    return {"results": chosen, "left_out": left_out, "active": len(active),
            "index_id": key[0], "salmon_version": key[1]}  # fmt: skip


@handler("process", "summarise")
def process_summarise(ctx: JobContext) -> dict[str, Any]:
    """Summarise a project's newest consistent set of quantifications to gene level."""
    project_id, run_by = ctx.job.payload.get("project_id"), ctx.job.payload.get("run_by")
    if not isinstance(project_id, int) or not isinstance(run_by, str) or not run_by:
        raise ValidationError("summarise payload needs an integer 'project_id' and 'run_by'")
    with ctx.conn.cursor() as cur:
        cur.execute(_sql("lock_project"), {"project_id": project_id})
    plan = plan_summary(ctx, project_id)
    if plan["active"] and not ctx.job.payload.get("force"):
        return {"project_id": project_id, "made": False,
                "reason": f"{plan['active']} samples are still being quantified"}  # fmt: skip
    if not plan["results"]:
        raise ValidationError(f"project {project_id} has no quantified sample to summarise")
    inputs = sorted(row["analysis_id"] for row in plan["results"])
    with ctx.conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("newest_summary"), {"project_id": project_id})
        previous = cur.fetchone()
    if (
        previous
        and previous["metadata"].get("inputs") == inputs
        and (previous["metadata"].get("left_out") == plan["left_out"])
    ):
        return {"project_id": project_id, "made": False, "analysis_id": previous["id"],
                "reason": "the newest summary already has these inputs"}  # fmt: skip
    version = int(previous["metadata"].get("version", 0)) + 1 if previous else 1
    index = get_index(ctx.conn, plan["index_id"])
    folder = ctx.scratch_dir / "summary"
    folder.mkdir()
    with (
        ctx.lake.open_read(index["prefix"] + "tx2gene.tsv") as source,
        open(folder / "tx2gene.tsv", "wb") as out,
    ):
        shutil.copyfileobj(source, out)
    tx2gene = read_tx2gene(folder / "tx2gene.tsv")
    quants, samples = [], []
    for row in plan["results"]:
        path = folder / f"{row['analysis_id']}.quant.sf"
        with (
            ctx.lake.open_read(computed_file_key(row["analysis_id"], "quant.sf")) as source,
            open(path, "wb") as out,
        ):
            shutil.copyfileobj(source, out)
        quants.append(read_quant_sf(path))
        samples.append(row["accession"])
    matrix = summarise_to_genes(quants, samples, tx2gene, COUNTS_FROM_ABUNDANCE)
    metadata = {
        "project_id": project_id,
        "version": version,
        "inputs": inputs,
        "samples": {row["accession"]: row["analysis_id"] for row in plan["results"]},
        "left_out": plan["left_out"],
        "index_id": plan["index_id"],
        "salmon_version": plan["salmon_version"],
        "counts_from_abundance": COUNTS_FROM_ABUNDANCE,
        "genes": len(matrix.genes),
        "note": f"uses only results of index {plan['index_id']} and salmon "
        f"{plan['salmon_version']}, the newest among the samples",
    }
    analysis_id = catalog.create_analysis(
        ctx.conn, ctx.application.name, ctx.application.version, run_by,
        sorted(row["experiment_id"] for row in plan["results"]), metadata=metadata,
    )  # fmt: skip
    location = catalog.start_analysis(ctx.conn, analysis_id)
    paths = write_gene_matrix(matrix, folder / "out")
    (folder / "out" / "gene_matrix.json").write_text(
        json.dumps({**metadata, "analysis_id": analysis_id}, indent=2, sort_keys=True) + "\n"
    )
    paths.append(folder / "out" / "gene_matrix.json")
    written: list[str] = []
    try:
        for path in paths:
            key = computed_file_key(analysis_id, path.name)
            content = path.read_bytes()
            sha256 = hashlib.sha256(content).hexdigest()
            ctx.lake.put_file(key, path, sha256=sha256)
            written.append(key)
            catalog.insert_computed_file(ctx.conn, analysis_id, path.name, key,
                                         size_bytes=len(content), sha256=sha256)  # fmt: skip
        catalog.finish_analysis(ctx.conn, analysis_id)
    except BaseException:
        for key in written:
            ctx.lake.delete(key)
        raise
    ctx.log.info("gene matrix v%d of project %s: %d samples, %d left out", version, project_id,
                 len(samples), len(plan["left_out"]))  # fmt: skip
    return {"project_id": project_id, "made": True, "analysis_id": analysis_id,
            "version": version, "results_location": location, "computed_files": written,
            "left_out": plan["left_out"]}  # fmt: skip
