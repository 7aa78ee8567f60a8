"""The `affy` application: a project's Affymetrix arrays of one platform, RMA-normalised and
summarised to genes.

Queued when the last CEL file of a project's arrays on one platform is stored (an experiment
is an array when the survey put `array` in its metadata, with `raw` = `CEL`; its `platform` is
GEO's `GPL…`; a sample with only a processed table goes to `workers.processors.geo_tables`).
The job reads each CEL file's chip from its header (`affyio::read.celfile.header`), fetches
that chip's definition from the lake (`workers.processors.affy_chips`; a chip without one fails
the job for good, naming it), runs `affy::rma` — background correction, quantile
normalisation, median polish — over the experiment's arrays of that chip together, and maps
probe sets to genes through the chip's probe-to-gene table (a gene: the mean of its probe
sets). A CEL file that cannot be read, or of another chip than the rest, leaves its sample out
with the reason; the others are processed. Headers and RMA are read and run by one R process
(`workers.processors.affy_r.AffySession`), started before the files are copied out of the lake
so that R's start overlaps the copies.

The analysis's files are the same gene-level result an RNA-seq project gets from `summarise`
(`workers.processors.gene_matrix`): a gene matrix TSV (`Gene`, then one column per sample —
`gene_rma.tsv`, log2 values) and `gene_matrix.json` naming the samples used, those left out
with their reasons, the chip, the scale and the share of probe sets that mapped to genes;
`probe_set_rma.tsv` keeps RMA's own values beside it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import catalog
from common.errors import ValidationError
from common.sql import query
from foreman.jobs import enqueue_job
from workers.processors.affy_r import AffySession
from workers.registry import JobContext, handler

if TYPE_CHECKING:
    import numpy as np

    from workers.processors.affy_chips import GeneValues
    from workers.processors.affy_r import ProbeSetValues

APPLICATION = "affy"
CEL_SUFFIXES = (".cel", ".cel.gz")


class NoReadableArray(ValidationError):
    """None of the experiment's CEL files could be read: nothing to normalise."""


def _sql(name: str) -> str:
    return query(__file__, "affy.sql", name)


def is_array(experiment: dict[str, Any]) -> bool:
    """Whether the survey catalogued `experiment` as a microarray."""
    return isinstance((experiment.get("metadata") or {}).get("array"), dict)


def queue_arrays_if_all_stored(ctx: JobContext, experiment: dict[str, Any]) -> int | None:
    """The download handler's hook: once every array of the experiment's project on its
    platform is stored, queue their `affy` job (None until then)."""
    project_id, platform = int(experiment["project_id"]), str(experiment["platform"])
    with ctx.conn.cursor() as cur:
        cur.execute(_sql("lock_project_arrays"), {"project_id": project_id})
        cur.execute(_sql("array_experiments"), {"project_id": project_id, "platform": platform})
        rows = cur.fetchall()
    if not rows or not all(stored for _, stored in rows):
        return None
    ids = [int(experiment_id) for experiment_id, _ in rows]
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    job_id, _ = enqueue_job(
        ctx.conn, "process",
        {"application": APPLICATION, "experiment_ids": ids, "project_id": project_id,
         "platform": platform, "run_by": ctx.env.bot_user},
        parent_job_id=ctx.job.id,
        dedupe_key=f"process:affy:project:{project_id}:{platform}:{digest}",
    )  # fmt: skip
    return job_id


def _nothing_readable(left_out: dict[str, str]) -> NoReadableArray:
    reasons = "; ".join(f"{sample}: {reason}" for sample, reason in sorted(left_out.items()))
    return NoReadableArray(f"no array of the experiment could be read: {reasons[:800]}")


def _cel_file(experiment: dict[str, Any]) -> dict[str, Any] | None:
    cel = [f for f in experiment["files"] if f["name"].lower().endswith(CEL_SUFFIXES)]
    return cel[0] if len(cel) == 1 else None


def normalise_arrays(
    ctx: JobContext, experiments: list[dict[str, Any]], folder: Path, session: AffySession
) -> tuple[ProbeSetValues, GeneValues, dict[str, Any]]:
    """RMA of the experiments' readable arrays of their most common chip, by `session`'s R;
    returns the values and the provenance (chip, samples used and left out)."""
    from workers.processors.affy_chips import fetch_chip, package_name, summarise_to_genes
    from workers.processors.quantify import local_copy

    left_out: dict[str, str] = {}
    files: dict[str, Path] = {}
    (folder / "cel").mkdir(parents=True)
    for experiment in experiments:
        original = _cel_file(experiment)
        if original is None:
            left_out[experiment["accession"]] = "not exactly one CEL file among its files"
            continue
        files[experiment["accession"]] = local_copy(ctx, original, folder / "cel")
    headers = session.read_headers(files, folder / "headers") if files else []
    for header in headers:
        if header.problem:
            left_out[header.sample] = f"its CEL file cannot be read: {header.problem}"[:500]
    readable = [header for header in headers if not header.problem]
    if not readable:
        raise _nothing_readable(left_out)
    (chip, _), *_ = Counter(h.chip for h in readable).most_common()
    for header in readable:
        if header.chip != chip:
            left_out[header.sample] = (
                f"its chip {header.chip} differs from the experiment's {chip}; "
                "RMA normalises the arrays of one chip together"
            )
    package = package_name(chip)
    definition = fetch_chip(ctx.lake, package, chip, folder / "chip")
    kept = {h.sample: files[h.sample] for h in readable if h.chip == chip}
    rma = session.run_rma(kept, chip, definition.cdf_env, folder / "rma")
    for sample, problem in rma.unreadable.items():
        left_out[sample] = f"its CEL file cannot be read: {problem}"[:500]
        kept.pop(sample, None)
    if rma.values is None:
        raise _nothing_readable(left_out)
    probe_sets = rma.values
    genes = summarise_to_genes(probe_sets, definition.probe_genes)
    provenance = {
        "chip": chip,
        "chip_package": package,
        "platform": str(experiments[0].get("platform") or ""),
        "project_id": ctx.job.payload.get("project_id"),  # how datasets find the result
        "method": "affy::rma (background correction, quantile normalisation, median polish)",
        "scale": "log2",
        "samples": sorted(kept),
        "left_out": dict(sorted(left_out.items())),
        "probe_sets": genes.probe_sets,
        "probe_sets_mapped": genes.probe_sets_mapped,
        "share_mapped": round(genes.share_mapped, 6),
        "genes": len(genes.genes),
        "gene_summary": "mean of the gene's probe sets",
    }
    ctx.log.info("RMA of %d arrays of %s: %d genes, %d left out", len(kept), chip,
                 len(genes.genes), len(left_out))  # fmt: skip
    return probe_sets, genes, provenance


def tsv_bytes(first: str, names: list[str], samples: list[str], values: np.ndarray) -> bytes:
    """A gene (or probe-set) matrix as TSV: `first` column of names, then one per sample; each
    number as the shortest text that reads back as the same double."""
    lines = ["\t".join([first, *samples])]
    lines += [
        "\t".join([name, *map(repr, row.tolist())]) for name, row in zip(names, values, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


@handler("process", APPLICATION)
def process_affy(ctx: JobContext) -> dict[str, Any]:
    """RMA of a project's arrays of one platform, summarised to genes.

    R is started first: its start and affy's loading (about half a second) overlap the
    numeric modules' imports below (which is why they are imported here) and the copies."""
    provenance: dict[str, Any] = {}
    folder = ctx.scratch_dir / "affy"
    with AffySession(folder / "r") as session:
        from workers.processors.applications import run_application

        def compute(ctx: JobContext, experiments: list[dict[str, Any]]) -> dict[str, bytes]:
            probe_sets, genes, described = normalise_arrays(ctx, experiments, folder, session)
            provenance.update(described)
            summary = {**described, "values_file": "gene_rma.tsv"}
            return {
                "gene_rma.tsv": tsv_bytes("Gene", genes.genes, genes.samples, genes.values),
                "probe_set_rma.tsv": tsv_bytes(
                    "ProbeSet", probe_sets.probe_sets, probe_sets.samples, probe_sets.values
                ),
                "gene_matrix.json": (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode(),
            }

        return run_application(ctx, compute, metadata=provenance)


def queue_after_download(ctx: JobContext, experiment_id: int) -> tuple[bool, int | None]:
    """(whether the experiment is an array, the job queued for it if any): a GEO processed
    table's own `geo_table` job (an ArrayExpress processed table gets none), or the `affy`
    job of its project's CEL files on its platform once the last is stored."""
    experiment = catalog.get_experiment(ctx.conn, experiment_id)
    if not is_array(experiment):
        return False, None
    raw = experiment["metadata"]["array"].get("raw")
    if raw == "processed":
        return True, None  # an ArrayExpress processed table: stored and kept, not converted
    if raw == "table":
        job_id, _ = enqueue_job(
            ctx.conn, "process",
            {"application": "geo_table", "experiment_ids": [experiment_id],
             "project_id": int(experiment["project_id"]), "run_by": ctx.env.bot_user},
            parent_job_id=ctx.job.id, dedupe_key=f"process:geo_table:experiment:{experiment_id}",
        )  # fmt: skip
        return True, job_id
    return True, queue_arrays_if_all_stored(ctx, experiment)
