"""The `dataset` job kind: a dataset asked for, an organism's QN target, its compendium.

Each handler reads its inputs (the newest gene-level result of each project involved, whatever
application made it: `workers.datasets.sources`) from the lake into scratch, puts every value
on the log2 scale (`sources.ON_LOG2_SCALE`; the compendium does its own log2, once), computes
with the expression core (`workers.processors.expression`: joins, quantile normalisation and
scaling by blocks of genes, so memory grows with a block, not the matrix), writes one artefact,
stores it in the lake atomically and completes its catalog row in the transaction that marks
the job succeeded. A build killed at any point is re-run from the start (retried on the next
memory tier like any job) and writes the same key again.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from psycopg2.extras import Json, RealDictCursor

from common.db import fetch_one
from common.errors import ValidationError
from common.files import file_sha256
from common.lake.layout import computed_file_key, safe_component
from common.settings.datasets import DatasetsSettings
from workers.datasets import bundle
from workers.datasets.archive import verify_archive, write_archive
from workers.datasets.requests import newest_targets, project_ids_of
from workers.datasets.sources import (
    LINEAR,
    ON_LOG2_SCALE,
    Plan,
    catalog_runs,
    datasets_sql,
    organism_plan,
    plan_columns,
    processed_runs,
)
from workers.processors.expression.aggregate import write_group_matrix
from workers.processors.expression.scaling import Scaling
from workers.processors.expression.targets import target_from_files
from workers.registry import JobContext, handler

VALUES = f"{ON_LOG2_SCALE}, from each experiment's newest gene-level result"


def dataset_key(dataset_id: int) -> str:
    return f"datasets/{int(dataset_id)}/dataset-{int(dataset_id)}.zip"


def target_key(organism: str, version: int) -> str:
    return f"qn_targets/{safe_component(organism.lower())}/v{int(version)}/target.tsv"


def dataset_record(ctx: JobContext) -> dict[str, Any]:
    dataset_id = ctx.job.payload.get("dataset_id")
    if not isinstance(dataset_id, int):
        raise ValidationError("a dataset job's payload needs an integer 'dataset_id'")
    with ctx.conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("get_dataset"), {"dataset_id": dataset_id})
        row = cur.fetchone()
    if row is None:
        raise ValidationError(f"dataset {dataset_id} is not in the catalog")
    return dict(row)


def fetch_matrices(ctx: JobContext, plan: Plan, folder: Path) -> dict[int, Path]:
    """analysis id -> its gene matrix (the file its application declares), copied from the
    lake into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for analysis_id in sorted({a for sources in plan.groups.values() for a in sources}):
        path = folder / f"{analysis_id}.tsv"
        name = plan.sources[analysis_id].file
        with (
            ctx.lake.open_read(computed_file_key(analysis_id, name)) as source,
            path.open("wb") as out,
        ):
            shutil.copyfileobj(source, out)
        paths[analysis_id] = path
    return paths


def subsets(
    plan: Plan,
    matrices: dict[int, Path],
    sources: dict[int, list[str]],
    folder: Path,
    *,
    log2: bool = True,
) -> list[Path]:
    """Each matrix with only the runs of `sources`, in analysis order: on the log2 scale
    (a linear source as log2(x + 1), once) or, with `log2=False`, its text kept as it is."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for analysis_id, runs in sorted(sources.items()):
        path = folder / f"{analysis_id}.tsv"
        import polars as pl  # imported by the build that reads a matrix, not at worker start

        frame = pl.read_csv(
            matrices[analysis_id],
            separator="\t",
            infer_schema=False,
            columns=["Gene", *runs],
            quote_char=None,
        )
        if log2 and plan.sources[analysis_id].scale == LINEAR:
            frame = frame.with_columns(
                [(pl.col(run).cast(pl.Float64) + 1.0).log(2.0) for run in runs]
            )
        frame.write_csv(path, separator="\t", quote_style="never", line_terminator="\n")
        files.append(path)
    return files


def _link(ctx: JobContext, key: str) -> tuple[str, datetime | None]:
    days = ctx.env.settings("datasets", DatasetsSettings).link_days
    link, expires = ctx.lake.download_link(key, days * 86400)
    return link, (datetime.now(UTC) + timedelta(days=days)) if expires else None


def store_archive(
    ctx: JobContext, dataset_id: int, members: list[tuple[str, Path]], contents: dict[str, Any]
) -> dict[str, Any]:
    """Zip, verify, store and record the archive (the row commits with the job)."""
    archive = ctx.scratch_dir / f"dataset-{dataset_id}.zip"
    sha256 = write_archive(members, archive)
    problems = verify_archive(archive)
    if problems:
        raise ValidationError(f"dataset {dataset_id}'s archive did not verify: {problems[0]}")
    key, size = dataset_key(dataset_id), archive.stat().st_size
    ctx.lake.put_file(key, archive, sha256=sha256)  # a folder lake moves the file in
    link, expires_at = _link(ctx, key)
    with ctx.conn.cursor() as cur:
        cur.execute(
            datasets_sql("finish_dataset"),
            {
                "dataset_id": dataset_id,
                "archive_key": key,
                "archive_sha256": sha256,
                "archive_bytes": size,
                "contents": Json(contents),
                "link": link,
                "link_expires_at": expires_at,
            },
        )
    archive.unlink(missing_ok=True)
    return {
        "dataset_id": dataset_id,
        "archive_key": key,
        "archive_sha256": sha256,
        "archive_bytes": size,
    }


def _targets_of(ctx: JobContext, plan: Plan) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """group -> (its organism's newest QN target, that target's row)."""
    organisms = sorted({s for species in plan.species.values() for s in species})
    rows = newest_targets(ctx.conn, organisms)
    chosen = {}
    for group, species in plan.species.items():
        if len(species) != 1 or next(iter(species)).lower() not in rows:
            raise ValidationError(
                f"group {group} has no single organism with a QN target "
                f"({', '.join(sorted(species))})"
            )
        row = rows[next(iter(species)).lower()]
        with ctx.lake.open_read(row["lake_key"]) as source:
            chosen[group] = (np.loadtxt(source, dtype=np.float64, ndmin=1), row)
    return chosen


@handler("dataset", "matrices")
def build_dataset(ctx: JobContext) -> dict[str, Any]:
    """Join, normalise, scale and package the samples a dataset asked for."""
    dataset = dataset_record(ctx)
    request, dataset_id = dataset["request"], int(dataset["id"])
    rows = catalog_runs(
        ctx.conn, project_ids_of(ctx.conn, request["experiments"]), request["samples"]
    )
    plan = plan_columns(rows, request["aggregate"], ctx.conn)
    if not plan.groups:
        raise ValidationError(
            f"dataset {dataset_id}: no sample asked for has gene-level values "
            f"({len(plan.left_out)} left out, e.g. "
            f"{next(iter(plan.left_out.items()), ('', 'none'))[1]})"
        )
    work = ctx.scratch_dir / f"dataset-{dataset_id}"
    out = work / "archive"
    matrices = fetch_matrices(ctx, plan, work / "inputs")
    targets = _targets_of(ctx, plan) if request["quantile_normalize"] else {}
    members: list[tuple[str, Path]] = []
    files: dict[str, str] = {}
    groups: dict[str, Any] = {}
    left_out = dict(plan.left_out)
    for group, sources in sorted(plan.groups.items()):
        inputs = subsets(plan, matrices, sources, work / "subsets" / group)
        target = targets[group][0] if group in targets else None
        matrix = write_group_matrix(
            group,
            inputs,
            out / group / f"{group}.tsv",
            target=target,
            scaling=Scaling(request["scale"]),
        )
        left_out.update(matrix.left_out)
        members.append((f"{group}/{group}.tsv", matrix.path))
        files[f"{group}/{group}.tsv"] = f"{group}'s matrix ({len(matrix.samples)} samples)"
        if request["include_raw"]:
            raw = write_group_matrix(group, inputs, out / group / f"raw_{group}.tsv")
            members.append((f"{group}/raw_{group}.tsv", raw.path))
            files[f"{group}/raw_{group}.tsv"] = "the same values before normalisation/scaling"
        metadata = bundle.write_metadata_tsv(
            out / group / f"metadata_{group}.tsv", [plan.runs[run] for run in matrix.samples]
        )
        members.append((f"{group}/metadata_{group}.tsv", metadata))
        files[f"{group}/metadata_{group}.tsv"] = f"one row per column of {group}.tsv"
        groups[group] = {
            "samples": matrix.samples,
            "genes": matrix.genes,
            "experiments": sorted({plan.runs[run]["project"] for run in matrix.samples}),
            "qn_target": (
                {k: targets[group][1][k] for k in ("id", "organism", "version", "sha256")}
                if group in targets
                else None
            ),
        }
    contents = {
        "groups": groups,
        "left_out": left_out,
        "samples": {run: row["sample_id"] for run, row in plan.runs.items()},
        "gene_matrices": plan.gene_matrices(),
    }
    summary = {
        "dataset_id": dataset_id,
        "request": request,
        "values": VALUES,
        "aggregate_by": request["aggregate"],
        "scale_by": request["scale"],
        "quantile_normalized": request["quantile_normalize"],
        **contents,
        "runs": {run: bundle.metadata_row(row) for run, row in sorted(plan.runs.items())},
    }
    members.append((bundle.METADATA_JSON, bundle.write_json(out / bundle.METADATA_JSON, summary)))
    members.append((bundle.LEFT_OUT, bundle.write_left_out(out / bundle.LEFT_OUT, left_out)))
    files[bundle.LEFT_OUT] = "every run or sample asked for that no matrix holds, and why"
    files[bundle.METADATA_JSON] = "the request, the groups and every run's metadata"
    members.append(("LICENSE.TXT", bundle.write_license(out / "LICENSE.TXT")))
    readme = bundle.write_readme(
        out / "README.md",
        f"Dataset {dataset_id}",
        {
            "facts": {
                "values": VALUES,
                "aggregated by": request["aggregate"],
                "scaled by": request["scale"],
                "quantile-normalised": request["quantile_normalize"],
                "samples in a matrix": sum(len(g["samples"]) for g in groups.values()),
                "left out": len(left_out),
            },
            "files": files,
        },
    )
    members.insert(0, ("README.md", readme))
    result = store_archive(ctx, dataset_id, members, contents)
    shutil.rmtree(work, ignore_errors=True)
    ctx.log.info("dataset %d: %d groups, %d left out", dataset_id, len(groups), len(left_out))
    return result


@handler("dataset", "qn_target")
def build_qn_target(ctx: JobContext) -> dict[str, Any]:
    """An organism's QN target: the mean of its processed samples' sorted values, on the
    log2 scale datasets use (RNA-seq and microarray samples alike)."""
    organism = str(ctx.job.payload.get("organism") or "")
    plan = organism_plan(ctx.conn, organism)
    least = ctx.env.settings("datasets", DatasetsSettings).qn_target_min_samples
    if processed_runs(plan) < least:
        raise ValidationError(
            f"{organism} has {processed_runs(plan)} processed samples; a QN "
            f"target needs at least {least}"
        )
    work = ctx.scratch_dir / "qn_target"
    matrices = fetch_matrices(ctx, plan, work / "inputs")
    files = [
        path
        for sources in plan.groups.values()
        for path in subsets(plan, matrices, sources, work / "subsets")
    ]
    target = target_from_files(files)
    with ctx.conn.cursor() as cur:
        cur.execute(datasets_sql("lock_organism_targets"), {"organism": organism})
        cur.execute(datasets_sql("next_target_version"), {"organism": organism})
        version = int(fetch_one(cur)[0])
    path = work / "target.tsv"
    path.write_text("".join(f"{value!r}\n" for value in target.values.tolist()))
    key = target_key(organism, version)
    sha256 = file_sha256(path)
    ctx.lake.put_file(key, path, sha256=sha256)
    runs = sorted(run for sources in plan.groups.values() for r in sources.values() for run in r)
    with ctx.conn.cursor() as cur:
        cur.execute(
            datasets_sql("insert_target"),
            {
                "organism": organism,
                "version": version,
                "job_id": ctx.job.id,
                "lake_key": key,
                "sha256": sha256,
                "samples": target.samples,
                "genes": target.genes,
                "inputs": Json(
                    {
                        "runs": runs,
                        "gene_matrices": sorted(plan.sources),
                        "scale": ON_LOG2_SCALE,
                        "skipped_empty": target.skipped_empty,
                    }
                ),
            },
        )
        target_id = int(fetch_one(cur)[0])
    shutil.rmtree(work, ignore_errors=True)
    return {
        "qn_target_id": target_id,
        "organism": organism,
        "version": version,
        "lake_key": key,
        "samples": target.samples,
        "genes": target.genes,
    }
