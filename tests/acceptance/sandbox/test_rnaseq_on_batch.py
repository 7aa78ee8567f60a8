"""RNA-seq on the sandbox's Batch, through `inv` in subprocesses, checked against planted truth.

The release is deployed to the sandbox as to staging (its images built and pushed, the salmon
image among them, and one job definition per pipeline and tier registered); a synthetic
organism's genome and GTF and a delivery of reads simulated from it (one single-end and one
paired-end sample) are uploaded to the emulator's S3, as a sequencing core would. Then
`inv index.build` from those S3 objects and `inv jobs.survey` of the delivery: the foreman on
its host submits the index job, the downloads, the QC and the quantifications (which wait for
the index) and the project's gene-level summary to Batch, whose jobs run as containers on the
Docker engine. The claims: every job succeeded on Batch; the index and quantification jobs ran
the salmon image, the summary the workers image; salmon's counts correlate with the planted
counts (Spearman >= 0.95 over transcripts with >= 10 true reads), and the gene matrix in the
S3 lake holds every sample, its TPMs the sums of the transcripts' TPMs, its counts each
sample's library size, and genes ranked as the planted gene counts are (Spearman >= 0.95 over
genes with >= 10 true reads).
"""

from __future__ import annotations

import csv
import io
import json
import time

import boto3
import numpy as np
import pytest

from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.sandbox.conftest import ENDPOINT, Sandbox, s3_client, upload_folder
from tests.support.ranks import spearman

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.salmon,
    pytest.mark.docker,
    pytest.mark.sandbox_ports,
]  # the one engine

VERSION = "v0.2.0-dev"
LAKE = "refinery-sandbox-lake"  # [lake] bucket of sandbox.toml
MIN_TRUE_READS = 10
MIN_SPEARMAN = 0.95
ACTIVE = "('waiting', 'pending', 'dispatched', 'running', 'errored')"
JOBS_TIMEOUT_S = 900


def wait_for_quiet(box: Sandbox) -> None:
    """Until no job is active (the summary queued by the last quantification included)."""
    deadline = time.monotonic() + JOBS_TIMEOUT_S
    while time.monotonic() < deadline:
        if box.sql(f"SELECT count(*) FROM jobs WHERE state IN {ACTIVE}") == ["0"]:
            return
        time.sleep(5)
    active = box.sql(f"SELECT id || ' ' || kind || ' ' || state FROM jobs WHERE state IN {ACTIVE}")
    pytest.fail(f"jobs still active after {JOBS_TIMEOUT_S} s: {active}")


def lake_text(key: str) -> str:
    return s3_client().get_object(Bucket=LAKE, Key=key)["Body"].read().decode()


def tsv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def batch_images(executor_job_ids: list[str]) -> dict[str, str]:
    """executor job id -> the image its Batch job ran: its job definition's (an array child's
    is its parent's; Batch lets a submission override the command, never the image)."""
    batch = boto3.client(
        "batch", endpoint_url=ENDPOINT, region_name="us-east-1",
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
    )  # fmt: skip
    parents = sorted({job_id.split(":")[0] for job_id in executor_job_ids})
    definition = {
        job["jobId"]: job["jobDefinition"] for job in batch.describe_jobs(jobs=parents)["jobs"]
    }
    described = batch.describe_job_definitions(jobDefinitions=sorted(set(definition.values())))
    image = {
        d["jobDefinitionArn"]: d["containerProperties"]["image"]
        for d in described["jobDefinitions"]
    }
    return {job_id: image[definition[job_id.split(":")[0]]] for job_id in executor_job_ids}


@pytest.mark.timeout(3600)
def test_index_salmon_and_gene_matrix_run_on_sandbox_batch_against_truth(sandbox, tmp_path):
    box = sandbox
    organism = make_organism(11)
    fasta, gtf = organism.write_genome(tmp_path / "reference")
    planted = write_delivery(tmp_path / "delivery", organism, [
        PlannedSample("SINGLE", seed=1, fragments=20_000),
        PlannedSample("PAIRED", paired=True, seed=2, fragments=15_000),
    ])  # fmt: skip

    box.ok("sandbox.up", timeout=1800)
    deployed = box.ok("deploy", "-e", "sandbox", "-v", VERSION, timeout=1800)
    assert f"deploy {VERSION} to sandbox: succeeded" in deployed
    reference = upload_folder(tmp_path / "reference")
    fasta_key, gtf_key = f"{reference}{fasta.name}", f"{reference}{gtf.name}"
    built = box.ok(
        "index.build", "-e", "sandbox", "--organism", organism.name,
        "--fasta", fasta_key, "--gtf", gtf_key,
    )  # fmt: skip
    assert "queued job" in built, built
    box.ok("jobs.survey", "-e", "sandbox", upload_folder(tmp_path / "delivery"))
    wait_for_quiet(box)

    jobs = [
        json.loads(row)
        for row in box.sql(
            "SELECT json_build_object('kind', kind, 'app', coalesce(payload->>'application', "
            "kind), 'state', state, 'attempt', attempt, 'executor', executor, 'batch_id', "
            "executor_job_id, 'reason', failure_reason) FROM jobs ORDER BY id"
        )
    ]
    assert {job["state"] for job in jobs} == {"succeeded"}, jobs
    assert {job["executor"] for job in jobs} == {"batch"}, jobs
    apps = [job["app"] for job in jobs]
    assert apps.count("index") == 1 and apps.count("salmon") == 2 and "summarise" in apps, apps
    images = batch_images([job["batch_id"] for job in jobs])
    for job in jobs:
        image = images[job["batch_id"]].rpartition("/")[2]
        wanted = "salmon" if job["app"] in ("index", "salmon") else "workers"
        assert image == f"{wanted}:{VERSION}", (job, image)
    quants = [job["batch_id"] for job in jobs if job["app"] == "salmon"]
    shape = "one array" if len({q.split(":")[0] for q in quants}) == 1 else "separate jobs"
    print(f"\nquantifications on Batch as {shape}: {quants}")

    results = {
        (accession, name): key
        for accession, name, key in (
            row.split("|")
            for row in box.sql(
                "SELECT e.accession || '|' || f.name || '|' || f.lake_key FROM analyses an "
                "JOIN analysis_targets t ON t.analysis_id = an.id JOIN experiments e ON "
                "e.id = t.experiment_id JOIN files f ON f.analysis_id = an.id "
                "WHERE an.application = 'salmon'"
            )
        )
    }
    [matrix] = box.sql(
        "SELECT string_agg(f.name || '=' || f.lake_key, ',') FROM files f JOIN analyses an "
        "ON an.id = f.analysis_id WHERE an.application = 'summarise'"
    )
    matrix_keys = dict(item.split("=", 1) for item in matrix.split(","))
    tpm = tsv(lake_text(matrix_keys["gene_tpm.tsv"]))
    counts = tsv(lake_text(matrix_keys["gene_counts.tsv"]))
    assert set(tpm[0]) - {"Gene"} == set(planted)

    tx2gene = organism.tx2gene()
    measured = {}
    for accession, simulated in planted.items():
        quant = {row["Name"]: row for row in tsv(lake_text(results[(accession, "quant.sf")]))}
        truth = simulated.true_counts
        kept = [t for t, n in truth.items() if n >= MIN_TRUE_READS]
        rho = spearman(
            np.array([truth[t] for t in kept]),
            np.array([float(quant[t]["NumReads"]) for t in kept]),
        )
        assert rho >= MIN_SPEARMAN, (accession, rho)
        gene_truth: dict[str, float] = {}
        gene_tpm: dict[str, float] = {}
        for transcript, row in quant.items():
            gene = tx2gene[transcript]
            gene_truth[gene] = gene_truth.get(gene, 0.0) + truth.get(transcript, 0)
            gene_tpm[gene] = gene_tpm.get(gene, 0.0) + float(row["TPM"])
        assert {row["Gene"] for row in tpm} == set(gene_tpm)
        for row in tpm:
            assert np.isclose(float(row[accession]), gene_tpm[row["Gene"]], rtol=1e-6, atol=1e-6)
        library = sum(float(row["NumReads"]) for row in quant.values())
        assert np.isclose(sum(float(row[accession]) for row in counts), library, rtol=1e-6)
        genes = [row["Gene"] for row in counts if gene_truth[row["Gene"]] >= MIN_TRUE_READS]
        estimated = {row["Gene"]: float(row[accession]) for row in counts}
        gene_rho = spearman(
            np.array([gene_truth[g] for g in genes]), np.array([estimated[g] for g in genes])
        )
        assert gene_rho >= MIN_SPEARMAN, (accession, gene_rho)
        measured[accession] = (round(rho, 4), round(gene_rho, 4))
    print(f"\nSpearman on sandbox Batch (transcripts, genes; >= {MIN_TRUE_READS} true reads): "
          f"{measured}")  # fmt: skip
    down = json.loads(box.ok("sandbox.down", "--json"))
    assert all(row["state"] != "running" for row in down), down
