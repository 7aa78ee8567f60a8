"""The RNA-seq handlers, run inline as the worker runtime runs them, on simulated truth.

A synthetic organism's cDNA becomes an index; a delivery of its reads is surveyed and
downloaded; the salmon jobs wait for the index (released as the foreman releases them); the
last quantification queues the project's summary. The same chain through `inv`, the foreman
and worker processes is `tests/acceptance/rnaseq/`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from common import catalog
from common.db import transaction
from common.errors import JobError
from common.lake import open_lake
from foreman.dispatch import settle_waiting_jobs
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.integration.workers.jobrunner import run_all_pending
from workers.processors.indices import request_index
from workers.processors.quantify import queue_quantification
from workers.submit import submit_survey

pytestmark = [pytest.mark.integration, pytest.mark.salmon]


def _drain(env, conn, scratch):
    while True:
        ran = run_all_pending(env, conn, scratch)
        released, _ = settle_waiting_jobs(conn, env)
        if not ran and not released:
            return


def _rows(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.commit()
    return rows


def _files(folder: Path) -> dict[str, tuple[int, int, str]]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(folder).as_posix()] = (
                path.stat().st_size, path.stat().st_mtime_ns, digest
            )  # fmt: skip
    return found


def test_quantification_waits_for_its_index_then_the_project_is_summarised(env, conn, tmp_path):
    organism = make_organism(3, genes=40)
    cdna, tx2gene = organism.write_cdna(tmp_path / "reference")
    write_delivery(tmp_path / "delivery", organism, [
        PlannedSample("S1", seed=1, fragments=5000),
        PlannedSample("S2", paired=True, seed=2, fragments=5000),
    ])  # fmt: skip
    with transaction(env) as tx:
        request = request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
        submit_survey(tx, str(tmp_path / "delivery"))
    assert request.queued
    run_all_pending(env, conn, tmp_path, kinds=("survey", "download"))
    waiting = _rows(conn, "SELECT j.payload ->> 'application', j.depends_on, j.needs_success, "
                          "d.payload ->> 'application' FROM jobs j "
                          "JOIN jobs d ON d.id = j.depends_on "
                          "WHERE j.state = 'waiting' ORDER BY j.id")  # fmt: skip
    # Both salmon jobs wait for the index; each sample's QC waits for its salmon job's end.
    salmon = [row for row in waiting if row[0] == "salmon"]
    assert salmon == [("salmon", request.job_id, True, None)] * 2
    salmon_ids = _rows(conn, "SELECT id FROM jobs WHERE payload ->> 'application' = 'salmon'")
    qc = sorted(row for row in waiting if row[0] == "fastq_qc")
    assert qc == sorted(("fastq_qc", job_id, False, "salmon") for (job_id,) in salmon_ids)
    run_all_pending(env, conn, tmp_path, kinds=("index",))
    ((prefix,),) = _rows(conn, "SELECT prefix FROM transcriptome_indices")
    index_folder = open_lake(env).local_path(prefix.rstrip("/"))
    assert index_folder is not None and (index_folder / "long").is_dir()
    built = _files(index_folder)
    _drain(env, conn, tmp_path)
    # On a folder lake salmon reads the index where the lake keeps it: it must write nothing.
    assert _files(index_folder) == built
    unfinished = _rows(conn, "SELECT id, kind, state FROM jobs WHERE state <> 'succeeded'")
    assert unfinished == []
    (metadata,) = _rows(conn, "SELECT metadata FROM analyses WHERE application = 'summarise'")[0]
    assert metadata["left_out"] == {} and metadata["version"] == 1
    assert sorted(metadata["samples"]) == ["RNA1-S1-RUN1", "RNA1-S2-RUN1"]
    salmon = _rows(conn, "SELECT metadata FROM analyses WHERE application = 'salmon'")
    assert {m["index_id"] for (m,) in salmon} == {request.index_id}
    assert {m["paired"] for (m,) in salmon} == {True, False}
    assert all(m["percent_mapped"] > 90 for (m,) in salmon), json.dumps(salmon)


def test_only_rna_seq_of_an_organism_with_an_index_is_quantified(env, conn, tmp_path):
    organism = make_organism(3, genes=10)
    cdna, tx2gene = organism.write_cdna(tmp_path / "reference")
    with transaction(env) as tx:
        request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
    experiment = {"id": 1, "project_id": 1, "species": organism.name, "metadata": {}}
    wgs = {**experiment, "metadata": {"library_strategy": "WGS"}}
    other = {**experiment, "species": "Homo sapiens"}
    assert queue_quantification(conn, wgs, "bot", parent_job_id=None) is None
    assert queue_quantification(conn, other, "bot", parent_job_id=None) is None
    off = queue_quantification(conn, experiment, "bot", parent_job_id=None, settings_quantify=False)
    assert off is None
    rna = {**experiment, "metadata": {"library_strategy": "RNA-Seq"}}
    job_id = queue_quantification(conn, rna, "bot", parent_job_id=None)
    conn.commit()
    assert _rows(conn, "SELECT state, payload->>'application' FROM jobs WHERE id = %s", job_id) == [
        ("waiting", "salmon")
    ]


def test_a_summary_never_mixes_indices_and_names_the_samples_left_on_an_older_one(
    env, conn, tmp_path
):
    organism = make_organism(6, genes=30)
    cdna, tx2gene = organism.write_cdna(tmp_path / "reference")
    fasta, gtf = organism.write_genome(tmp_path / "genome")
    write_delivery(tmp_path / "delivery", organism, [
        PlannedSample("S1", seed=1, fragments=3000), PlannedSample("S2", seed=2, fragments=3000),
    ])  # fmt: skip
    with transaction(env) as tx:
        old = request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
        submit_survey(tx, str(tmp_path / "delivery"))
    _drain(env, conn, tmp_path)
    with transaction(env) as tx:
        new = request_index(tx, env, organism.name, fasta=str(fasta), gtf=str(gtf))
    _drain(env, conn, tmp_path)
    (experiment_id,) = _rows(
        conn, "SELECT id FROM experiments WHERE accession = %s", "RNA1-S1-RUN1"
    )[0]
    with transaction(env) as tx:
        experiment = catalog.get_experiment(tx, experiment_id)
        newest = {"id": new.index_id, "state": "ready", "job_id": None}
        queue_quantification(tx, experiment, "bot", parent_job_id=None, index=newest)
    _drain(env, conn, tmp_path)
    query = "SELECT metadata FROM analyses WHERE application = 'summarise' ORDER BY id"
    summaries = [m for (m,) in _rows(conn, query)]
    assert [(m["version"], m["index_id"]) for m in summaries] == [
        (1, old.index_id), (2, new.index_id)
    ]  # fmt: skip
    assert list(summaries[1]["samples"]) == ["RNA1-S1-RUN1"]
    reason = summaries[1]["left_out"]["RNA1-S2-RUN1"]
    assert f"quantified with index {old.index_id}" in reason and "not the newest" in reason


def test_an_index_whose_build_failed_for_good_is_queued_again(env, conn, tmp_path):
    organism = make_organism(3, genes=10)
    cdna, tx2gene = organism.write_cdna(tmp_path / "reference")
    with transaction(env) as tx:
        first = request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
        again = request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
    assert (first.queued, again.queued, again.job_id) == (True, False, first.job_id)
    _rows(conn, "UPDATE jobs SET state = 'failed' WHERE id = %s RETURNING id", first.job_id)
    with transaction(env) as tx:
        retried = request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
    assert retried.queued and retried.index_id == first.index_id
    assert retried.job_id != first.job_id


def test_a_sample_is_not_kept_when_the_salmon_that_read_it_did_not_build_its_index(
    env, conn, tmp_path
):
    organism = make_organism(8, genes=10)
    cdna, tx2gene = organism.write_cdna(tmp_path / "reference")
    write_delivery(tmp_path / "delivery", organism, [PlannedSample("S1", seed=1, fragments=2000)])
    with transaction(env) as tx:
        request = request_index(tx, env, organism.name, cdna=str(cdna), tx2gene=str(tx2gene))
        submit_survey(tx, str(tmp_path / "delivery"))
    run_all_pending(env, conn, tmp_path, kinds=("survey", "download", "index"))
    # As if the index had been built by another release of salmon than this worker's.
    _rows(conn, "UPDATE transcriptome_indices SET salmon_version = '0.1.0' RETURNING id")
    settle_waiting_jobs(conn, env)
    conn.commit()
    expected = f"index {request.index_id} was built by salmon 0.1.0; this worker has 1."
    with pytest.raises(JobError, match=expected):
        run_all_pending(env, conn, tmp_path, kinds=("process",))
    assert _rows(
        conn, "SELECT count(*) FROM files WHERE kind = 'computed' AND name = 'quant.sf'"
    ) == [(0,)]
    assert _rows(
        conn, "SELECT count(*) FROM analyses WHERE status = 'FINISHED' AND application = 'salmon'"
    ) == [(0,)]
