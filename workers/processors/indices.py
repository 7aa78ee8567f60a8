"""Transcriptome indices: requested once, built by an `index` job, stored once in the lake.

An index is identified by (organism, source, release, salmon version): Ensembl's release,
or for files given by hand (a genome FASTA + GTF, or a cDNA FASTA + transcript→gene table,
local paths or `s3://`) the first 16 hex digits of the sha256 of their contents. A request
for an index the catalog already holds — built, or being built — queues nothing; one whose
build failed for good is queued again. The `index` job (handler `salmon`) fetches the
inputs, extracts the transcripts (`workers.processors.transcriptome`), builds the long (k=31)
and short (k=23) salmon indices, stores everything under the index's lake prefix and marks
the row ready, in its one transaction.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, RealDictCursor

from common.environments import Environment
from common.errors import PermanentJobError, ValidationError
from common.files import file_sha256
from common.inputs import MAX_ID_LENGTH, check_text, user_path
from common.lake.layout import transcriptome_index_prefix
from common.settings.jobs import RnaSeqSettings
from common.sql import query
from foreman.jobs import enqueue_job
from workers.processors import salmon_tool
from workers.registry import JobContext, handler


def _sql(name: str) -> str:
    return query(__file__, "indices.sql", name)


@dataclass(frozen=True)
class IndexRequest:
    """What a request found or queued."""

    index_id: int
    job_id: int | None
    queued: bool
    state: str
    organism: str
    source: str
    release: str
    salmon_version: str
    prefix: str
    inputs: dict[str, str]


def _input_location(value: str, what: str, env: Environment) -> tuple[str, str]:
    """(location as stored, a fingerprint of its content) of a local path or s3:// object."""
    if value.startswith("s3://"):
        from common.lake.s3 import s3_client

        parsed = urlparse(value)
        try:
            head = s3_client(env).head_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
        except Exception:
            raise ValidationError(f"{what} {value} cannot be read") from None
        return value, f"{head.get('ETag', '')}:{head.get('ContentLength', '')}"
    path = user_path(value, what)
    if not path.is_file():
        raise ValidationError(f"{what} {value} does not exist")
    return str(path.resolve()), file_sha256(path)


def request_index(
    conn: Connection,
    env: Environment,
    organism: str,
    *,
    division: str | None = None,
    release: int | None = None,
    fasta: str | None = None,
    gtf: str | None = None,
    cdna: str | None = None,
    tx2gene: str | None = None,
    run_by: str = "",
) -> IndexRequest:
    """Find or queue the index of `organism` (the caller commits)."""
    organism = check_text(organism, "the organism", max_length=MAX_ID_LENGTH).strip()
    if not organism:
        raise ValidationError("name the organism, e.g. --organism 'Homo sapiens'")
    pairs = {"fasta": fasta, "gtf": gtf, "cdna": cdna, "tx2gene": tx2gene}
    given = {name for name, value in pairs.items() if value}
    if given and given not in ({"fasta", "gtf"}, {"cdna", "tx2gene"}):
        raise ValidationError("give --fasta with --gtf, or --cdna with --tx2gene (or neither)")
    if given and (division or release):
        raise ValidationError("--division and --release are for Ensembl, not for files")
    from workers.processors import ensembl  # see _fetch

    if division is not None and division not in ensembl.DIVISIONS:
        raise ValidationError(f"unknown division {division!r} ({', '.join(ensembl.DIVISIONS)})")
    version = salmon_tool.salmon_version()
    if given:
        inputs, fingerprints = {}, []
        for name in sorted(given):
            inputs[name], fingerprint = _input_location(str(pairs[name]), f"--{name}", env)
            fingerprints.append(f"{name}={fingerprint}")
        source, division_name = "files", ""
        release_label = hashlib.sha256("\n".join(fingerprints).encode()).hexdigest()[:16]
    else:
        found = ensembl.resolve_release(
            RnaSeqSettings.for_environment(env), organism, division, release
        )
        source, division_name, release_label = "ensembl", found.division, str(found.release)
        inputs = {"fasta": found.genome_url, "gtf": found.gtf_url, "assembly": found.assembly}
    key = {"organism": organism, "source": source, "release": release_label,
           "salmon_version": version}  # fmt: skip
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('transcriptome_index'))")
        cur.execute(_sql("find_index"), key)
        row = cur.fetchone()
        if row is not None and not (
            row["state"] == "building" and row["job_state"] in ("failed", "cancelled")
        ):
            return IndexRequest(row["id"], row["job_id"], False, row["state"], organism, source,
                                release_label, version, row["prefix"], row["inputs"])  # fmt: skip
        if row is None:
            prefix = transcriptome_index_prefix(organism, source, release_label, version)
            values = {**key, "division": division_name, "inputs": Json(inputs), "prefix": prefix}
            cur.execute(_sql("insert_index"), values)
            inserted = cur.fetchone()
            assert inserted is not None  # INSERT … RETURNING gives its row
            index_id = int(inserted["id"])
        else:
            index_id, prefix = int(row["id"]), row["prefix"]
        job_id, _ = enqueue_job(
            conn, "index", {"index_id": index_id, "run_by": run_by or env.bot_user},
            dedupe_key=f"index:{index_id}:{row['job_id'] if row else 0}", memory_tier=1,
        )  # fmt: skip
        cur.execute(_sql("set_index_job"), {"job_id": job_id, "index_id": index_id})
    return IndexRequest(index_id, job_id, True, "building", organism, source, release_label,
                        version, prefix, inputs)  # fmt: skip


def list_indices(conn: Connection) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("list_indices"))
        return [dict(row) for row in cur.fetchall()]


def index_for_organism(conn: Connection, organism: str) -> dict[str, Any] | None:
    """The organism's newest index that is ready or being built, else None."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("index_for_organism"), {"organism": organism})
        row = cur.fetchone()
    return dict(row) if row else None


def get_index(conn: Connection, index_id: int) -> dict[str, Any]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_index"), {"index_id": index_id})
        row = cur.fetchone()
    if row is None:
        raise PermanentJobError(f"transcriptome index {index_id} is not in the catalog")
    return dict(row)


def _fetch(ctx: JobContext, location: str, target: Path) -> Path:
    """Bring an input (http(s) URL, s3:// object or local path) into the scratch folder."""
    # The HTTP client, Ensembl's and the transcriptome's code are imported by the index build
    # that uses them: a salmon job imports this module for its index lookups, and each job's
    # worker pays for its imports after its claim (http.client and email alone are ~20 ms).
    import urllib.request

    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        timeout = RnaSeqSettings.for_environment(ctx.env).timeout_seconds
        with (
            ctx.transfers.watch(f"download of {location}"),
            urllib.request.urlopen(location, timeout=timeout) as response,
            open(target, "wb") as out,
        ):
            while block := response.read(1 << 20):
                out.write(block)
                ctx.transfers.moved(len(block))
    elif parsed.scheme == "s3":
        from common.lake.s3 import s3_client

        s3_client(ctx.env).download_file(parsed.netloc, parsed.path.lstrip("/"), str(target))
    else:
        shutil.copyfile(location, target)
    return target


@handler("index", "salmon")
def build_transcriptome_index(ctx: JobContext) -> dict[str, Any]:
    """Extract the transcripts, build the long and short salmon indices, store them once."""
    try:
        index_id = int(ctx.job.payload["index_id"])
    except (KeyError, TypeError, ValueError):
        raise ValidationError("index payload needs an integer 'index_id'") from None
    from workers.processors import transcriptome  # see _fetch

    row = get_index(ctx.conn, index_id)
    version = salmon_tool.salmon_version()
    if version != row["salmon_version"]:
        raise PermanentJobError(
            f"index {index_id} is for salmon {row['salmon_version']}, this worker has {version}"
        )
    inputs, scratch = row["inputs"], ctx.scratch_dir
    if row["state"] == "ready":
        return {"index_id": index_id, "already_built": True, "prefix": row["prefix"]}
    if "cdna" in inputs:
        made = transcriptome.from_cdna(
            _fetch(ctx, inputs["cdna"], scratch / "cdna.fa"),
            _fetch(ctx, inputs["tx2gene"], scratch / "tx2gene.in"),
            scratch / "transcriptome",
        )
    else:
        made = transcriptome.from_genome(
            _fetch(ctx, inputs["fasta"], scratch / "genome.fa"),
            _fetch(ctx, inputs["gtf"], scratch / "annotation.gtf"),
            scratch / "transcriptome",
        )
    threads = RnaSeqSettings.for_environment(ctx.env).salmon_threads
    built = scratch / "index"
    for name, kmer in salmon_tool.INDEX_KMERS.items():
        ctx.log.info("building the %s (k=%d) index of %s", name, kmer, row["organism"])
        salmon_tool.build_index(made.fasta, built / name, kmer=kmer, threads=threads)
    with (
        open(made.fasta, "rb") as plain,
        gzip.GzipFile(built / "transcripts.fa.gz", "wb", mtime=0) as packed,
    ):
        shutil.copyfileobj(plain, packed)
    shutil.copyfile(made.tx2gene, built / "tx2gene.tsv")
    written: list[str] = []
    try:
        for path in sorted(p for p in built.rglob("*") if p.is_file()):
            key = row["prefix"] + path.relative_to(built).as_posix()
            ctx.lake.put_file(key, path)
            written.append(key)
        with ctx.conn.cursor() as cur:
            cur.execute(_sql("mark_index_ready"), {
                "index_id": index_id, "transcripts": made.transcripts, "genes": made.genes,
                "dropped": made.pseudogene_lines_dropped,
            })  # fmt: skip
    except BaseException:
        for key in written:
            ctx.lake.delete(key)
        raise
    return {
        "index_id": index_id,
        "prefix": row["prefix"],
        "transcripts": made.transcripts,
        "genes": made.genes,
        "pseudogene_lines_dropped": made.pseudogene_lines_dropped,
        "salmon_version": version,
        "objects": len(written),
    }


def fetch_index(ctx: JobContext, index: dict[str, Any], kind: str, folder: Path) -> Path:
    """The `kind` (long/short) salmon index as a folder on this machine: the lake's own
    folder when the lake keeps every file of it as a plain file (salmon only reads an index,
    and copying one of a real organism costs seconds per sample), else a copy in `folder`."""
    prefix = index["prefix"]
    objects = list(ctx.lake.list(prefix + kind + "/"))
    in_place = ctx.lake.local_path(prefix + kind)
    if (
        in_place is not None
        and objects
        and all(
            ctx.lake.local_path(info.key) == in_place / info.key[len(prefix + kind) + 1 :]
            for info in objects
        )
    ):
        return in_place
    for info in objects:
        target = folder / info.key[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        with ctx.lake.open_read(info.key) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    return folder / kind
