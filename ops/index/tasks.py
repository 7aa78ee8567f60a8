"""`inv index.*`: build (or find) an organism's transcriptome index; list them."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(
    help={
        "env": ENV_HELP,
        "organism": "scientific name, e.g. 'Homo sapiens'",
        "division": "Ensembl division: EnsemblVertebrates (default), EnsemblPlants, …",
        "release": "Ensembl release number (default: the newest)",
        "fasta": "a genome FASTA (local path or s3://), with --gtf",
        "gtf": "the genome's GTF annotation (local path or s3://), with --fasta",
        "cdna": "a cDNA (transcripts) FASTA (local path or s3://), with --tx2gene",
        "tx2gene": "a transcript-to-gene table (two columns), with --cdna",
        "json": JSON_HELP,
    }
)
def build(
    c: Context,
    env: str,
    organism: str,
    division: str | None = None,
    release: str | None = None,
    fasta: str | None = None,
    gtf: str | None = None,
    cdna: str | None = None,
    tx2gene: str | None = None,
    json: bool = False,
) -> None:
    """Queue an organism's transcriptome index (salmon, k=31 and k=23) unless it exists."""
    from ops.index.build import build_index

    request = build_index(environment(env), organism, division=division, release=release,
                          fasta=fasta, gtf=gtf, cdna=cdna, tx2gene=tx2gene)  # fmt: skip
    if json:
        print_json(request.__dict__)
        return
    what = (f"index {request.index_id} of {request.organism} ({request.source} "
            f"{request.release}, salmon {request.salmon_version})")  # fmt: skip
    if request.queued:
        console.print(f"queued job {request.job_id}: {what} → {request.prefix}")
    else:
        console.print(f"{what} is already {request.state} (job {request.job_id}); queued nothing")


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def list_(c: Context, env: str, json: bool = False) -> None:
    """The transcriptome indices in the catalog, and where each stands."""
    from ops.index.build import indices

    rows = indices(environment(env))
    if json:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} transcriptome indices",
        ("id", "organism", "source", "release", "salmon", "state", "job", "transcripts", "genes"),
        ((r["id"], r["organism"], r["source"], r["release"], r["salmon_version"], r["state"],
          f"{r['job_id']} {r['job_state'] or ''}", r["transcripts"], r["genes"]) for r in rows),
    )  # fmt: skip


ns = Collection("index")
ns.add_task(build)
ns.add_task(list_, name="list")
