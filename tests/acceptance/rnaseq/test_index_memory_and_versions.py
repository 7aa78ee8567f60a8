"""Ensembl indices, a quantification that runs out of memory, late samples and re-quantifying:
through `inv` and a real foreman with worker processes, on an environment of the test's own.

Its memory tiers are 300 MB and 2 GB: salmon cannot run in 300 MB (its allocations fail), so
each sample's first attempt fails for memory and is retried one tier up, where it succeeds.
Ensembl's REST API and file server are a loopback server holding answers in Ensembl's shape
and the synthetic organism's genome and GTF.
"""

from __future__ import annotations

import json
import signal

import pytest

from common.environments import REPO_ROOT
from common.lake import open_lake
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.hostile.conftest import run_inv
from tests.acceptance.rnaseq.conftest import ACTIVE, read_matrix
from tests.integration.workers.servers import LoopbackHttpServer
from tests.support.foreman import FAST_FOREMAN, fetch, start_foreman, wait_until

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]
FIXTURES_JSON = "tests/support/fixtures/ensembl"


def _quiet(env):
    return fetch(env, f"SELECT count(*) FROM jobs WHERE state IN {ACTIVE}") == [(0,)]


def _summaries(env):
    return fetch(env, "SELECT id, metadata FROM analyses WHERE application = 'summarise' "
                      "ORDER BY id")  # fmt: skip


@pytest.fixture
def ensembl_server(tmp_path):
    organism = make_organism(5, genes=60)
    fasta, gtf = organism.write_genome(tmp_path / "ensembl")
    server = LoopbackHttpServer().start()
    info = json.loads((REPO_ROOT / FIXTURES_JSON / "info_genomes_synthetica.json").read_text())
    info["name"] = "synthetica_seed5"
    server.state.files["/rest/info/genomes/synthetica_seed5"] = json.dumps(info).encode()
    server.state.files["/rest/info/data"] = (
        REPO_ROOT / FIXTURES_JSON / "info_data.json"
    ).read_bytes()
    base = "/ftp/release-113"
    server.state.files[
        f"{base}/fasta/synthetica_seed5/dna/Synthetica_seed5.SYN1.dna.toplevel.fa.gz"
    ] = fasta.read_bytes()
    server.state.files[f"{base}/gtf/synthetica_seed5/Synthetica_seed5.SYN1.113.gtf.gz"] = (
        gtf.read_bytes()
    )
    yield server, organism
    server.stop()


@pytest.mark.slow
def test_ensembl_index_memory_retry_late_sample_and_requant(
    make_env, ensembl_server, tmp_path, session_dirs
):
    server, organism = ensembl_server
    env = make_env(
        "rnaseqmem",
        executor={"kind": "local", "concurrency": 2, "memory_tiers_mb": [300, 2048]},
        foreman={**FAST_FOREMAN, "retry_delay_seconds": 0},
        rnaseq={"ensembl_rest_url": server.url("/rest"), "ensembl_ftp_url": server.url("/ftp"),
                "salmon_threads": 1},
    )  # fmt: skip
    build = ("index.build", "-e", env.name, "--organism", organism.name)
    first = run_inv(*build)
    assert first.returncode == 0 and "queued job" in first.stdout, first.stderr
    second = run_inv(*build, "--release", "113")
    assert "queued nothing" in second.stdout, second.stdout + second.stderr
    delivery = tmp_path / "delivery"
    samples = [PlannedSample("A", paired=True, seed=1, fragments=20_000)]
    write_delivery(delivery, organism, samples)
    assert run_inv("jobs.survey", "-e", env.name, str(delivery)).returncode == 0
    foreman = start_foreman(env, session_dirs["logs"], label="rnaseq")
    try:
        wait_until(lambda: _quiet(env) and _summaries(env), timeout=300, what="summary v1")
        attempts = fetch(
            env, "SELECT a.attempt, a.memory_tier, a.outcome, a.reason FROM job_attempts a "
            "JOIN jobs j ON j.id = a.job_id WHERE j.payload->>'application' = 'salmon' "
            "ORDER BY a.attempt",
        )  # fmt: skip
        index = fetch(
            env, "SELECT id, source, release, inputs->>'fasta' FROM transcriptome_indices"
        )

        # a late sample: the matrix is made again as version 2, version 1 kept
        write_delivery(delivery, organism, [*samples, PlannedSample("B", seed=2, fragments=20_000)])
        assert run_inv("jobs.survey", "-e", env.name, str(delivery)).returncode == 0
        wait_until(lambda: _quiet(env) and len(_summaries(env)) == 2, timeout=300, what="v2")

        # a newer index (the same organism from its cDNA): both samples are outdated
        cdna, tx2gene = organism.write_cdna(tmp_path / "cdna")
        newer = run_inv("index.build", "-e", env.name, "--organism", organism.name,
                        "--cdna", str(cdna), "--tx2gene", str(tx2gene))  # fmt: skip
        assert newer.returncode == 0, newer.stderr
        wait_until(lambda: _quiet(env), timeout=300, what="the newer index")
        dry = run_inv("analyses.requant", "-e", env.name, "--json")
        assert dry.returncode == 0, dry.stderr
        executed = run_inv("analyses.requant", "-e", env.name, "--execute", "--json")
        wait_until(lambda: _quiet(env) and len(_summaries(env)) == 3, timeout=300, what="v3")
        after = run_inv("analyses.requant", "-e", env.name, "--json")
        forced = run_inv("analyses.summarise", "-e", env.name, "--experiment", "RNA1")
        assert forced.returncode == 0, forced.stderr
        wait_until(lambda: _quiet(env), timeout=120, what="the forced summary")
        summaries = _summaries(env)
        listed = run_inv("index.list", "-e", env.name, "--json")
    finally:
        foreman.send_signal(signal.SIGTERM)
        foreman.wait(timeout=60)

    ((index_id, source, release, fasta_url),) = index
    assert (source, release) == ("ensembl", "113")
    assert fasta_url.startswith(server.url("/ftp/release-113/fasta/synthetica_seed5/"))
    # out of memory at 300 MB, then one tier up it succeeds
    assert [(a, tier, outcome) for a, tier, outcome, _ in attempts] == [
        (1, 0, "errored"), (2, 1, "succeeded")
    ]  # fmt: skip
    assert "salmon quant exited" in attempts[0][3], attempts[0][3]

    assert len(summaries) == 3  # the forced summary had nothing new to add
    v1, v2, v3 = (metadata for _, metadata in summaries)
    assert (v1["version"], sorted(v1["samples"])) == (1, ["RNA1-A-RUN1"])
    assert (v2["version"], sorted(v2["samples"])) == (2, ["RNA1-A-RUN1", "RNA1-B-RUN1"])
    assert v1["index_id"] == v2["index_id"] == index_id
    assert v3["version"] == 3 and v3["index_id"] > index_id and v3["left_out"] == {}
    for analysis_id, metadata in summaries:  # every version is kept, with its own samples
        counts = read_matrix(_lake_file(env, analysis_id))
        assert sorted(counts) == sorted(metadata["samples"])

    indices = json.loads(listed.stdout)
    assert [(i["source"], i["state"], i["job_state"]) for i in indices] == [
        ("ensembl", "ready", "succeeded"), ("files", "ready", "succeeded")
    ]  # fmt: skip
    planned = json.loads(dry.stdout)
    assert not planned["executed"] and sorted(s["accession"] for s in planned["samples"]) == [
        "RNA1-A-RUN1", "RNA1-B-RUN1"
    ]  # fmt: skip
    assert len(json.loads(executed.stdout)["queued"]) == 2
    assert json.loads(after.stdout)["samples"] == []


def _lake_file(env, analysis_id: int):
    path = open_lake(env).local_path(f"analyses/{analysis_id}/gene_counts.tsv")
    assert path is not None and path.is_file()
    return path
