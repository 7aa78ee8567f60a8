"""Process jobs: an analysis row through its lifecycle, computed files in the lake."""

from __future__ import annotations

import hashlib
import json

import pytest

from common.errors import JobError, ValidationError
from common.lake import open_lake
from foreman.jobs import enqueue_job
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import enqueue_and_run, run_all_pending

pytestmark = pytest.mark.integration


def stored_experiments(env, conn, tmp_path, samples=2, reads=200):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=samples, reads=reads)
    enqueue_and_run(
        env, conn, "survey", {"source": "delivery", "location": str(delivery.folder)}, tmp_path
    )
    run_all_pending(env, conn, tmp_path, kinds=("download",))  # the QC jobs are the test's
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM experiments ORDER BY id")
        ids = [row[0] for row in cur.fetchall()]
    conn.commit()
    return ids


def analysis(conn, analysis_id):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT application, application_version, status, run_by, results_location, "
            "started_at IS NOT NULL, finished_at IS NOT NULL FROM analyses WHERE id = %s",
            (analysis_id,),
        )
        row = cur.fetchone()
        cur.execute(
            "SELECT experiment_id FROM analysis_targets WHERE analysis_id = %s ORDER BY 1",
            (analysis_id,),
        )
        targets = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT name, lake_key, size_bytes, sha256 FROM files WHERE analysis_id = %s "
            "AND kind = 'computed'",
            (analysis_id,),
        )
        files = cur.fetchall()
    conn.commit()
    return row, targets, files


def test_fastq_qc_writes_qc_json_and_finishes_the_analysis(env, conn, tmp_path):
    experiments = stored_experiments(env, conn, tmp_path)
    payload = {"application": "fastq_qc", "experiment_ids": experiments, "run_by": "alice"}
    result = enqueue_and_run(env, conn, "process", payload, tmp_path)
    analysis_id = result["analysis_id"]
    row, targets, files = analysis(conn, analysis_id)
    assert row == ("fastq_qc", "1.0.0", "FINISHED", "alice", f"analyses/{analysis_id}/", True, True)
    assert targets == experiments
    ((name, key, size, sha256),) = files
    assert (name, key) == ("qc.json", f"analyses/{analysis_id}/qc.json")
    with open_lake(env).open_read(key) as handle:
        content = handle.read()
    assert size == len(content) and sha256 == hashlib.sha256(content).hexdigest()
    report = json.loads(content)
    first = report["experiments"][str(experiments[0])]
    assert first["total"]["reads"] == 400  # 200 pairs
    assert set(first["files"]) == {"S1_R1.fastq.gz", "S1_R2.fastq.gz"}
    assert 35 < first["total"]["gc_percent"] < 48  # sample S1 is generated at 41 % GC
    assert first["total"]["mean_quality"] > 20
    assert sum(first["total"]["length_distribution"].values()) == 400


def test_no_op_registers_a_manifest_of_the_inputs(env, conn, tmp_path):
    experiments = stored_experiments(env, conn, tmp_path, samples=1)
    payload = {"application": "no_op", "experiment_ids": experiments, "run_by": "bot"}
    result = enqueue_and_run(env, conn, "process", payload, tmp_path)
    _row, _targets, files = analysis(conn, result["analysis_id"])
    assert [f[0] for f in files] == ["manifest.json"]
    with open_lake(env).open_read(files[0][1]) as handle:
        manifest = json.load(handle)
    assert [f["name"] for f in manifest["experiments"][0]["files"]] == [
        "S1_R1.fastq.gz",
        "S1_R2.fastq.gz",
    ]


def test_a_given_analysis_id_is_used(env, conn, tmp_path):
    from common import catalog

    experiments = stored_experiments(env, conn, tmp_path, samples=1)
    analysis_id = catalog.create_analysis(conn, "no_op", "1.0.0", "carol", [])
    conn.commit()
    payload = {
        "application": "no_op",
        "experiment_ids": experiments,
        "run_by": "carol",
        "analysis_id": analysis_id,
    }
    assert enqueue_and_run(env, conn, "process", payload, tmp_path)["analysis_id"] == analysis_id
    assert analysis(conn, analysis_id)[1] == experiments


def test_a_failing_analysis_leaves_no_rows_and_no_lake_objects(env, conn, tmp_path):
    experiments = stored_experiments(env, conn, tmp_path, samples=1)
    lake = open_lake(env)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT lake_key FROM files WHERE experiment_id = %s LIMIT 1", (experiments[0],)
        )
        (key,) = cur.fetchone()
    conn.commit()
    broken = tmp_path / "broken.fastq"
    broken.write_bytes(b"@r1\nACGT\n+\nIIII\n@r2\nAC")
    lake.put_file(key, broken)
    payload = {"application": "fastq_qc", "experiment_ids": experiments, "run_by": "bot"}
    with pytest.raises(ValidationError, match="ends inside record 2"):
        enqueue_and_run(env, conn, "process", payload, tmp_path)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM analyses")
        assert cur.fetchone()[0] == 0
    conn.commit()
    assert list(lake.list("analyses/")) == []


def test_processing_an_experiment_with_unstored_files_is_refused(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10)
    enqueue_and_run(
        env, conn, "survey", {"source": "delivery", "location": str(delivery.folder)}, tmp_path
    )
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM experiments")
        (experiment,) = cur.fetchone()
    conn.commit()
    job_id, _ = enqueue_job(
        conn, "process", {"application": "fastq_qc", "experiment_ids": [experiment], "run_by": "b"}
    )
    conn.commit()
    from tests.integration.workers.jobrunner import run_job

    with pytest.raises(JobError, match="not yet stored"):
        run_job(env, conn, job_id, tmp_path)
