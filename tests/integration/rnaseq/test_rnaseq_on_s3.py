"""The RNA-seq chain where the cloud runs it: reference files and a delivery in S3, an S3 lake
(the emulator on loopback), handlers run inline as the worker runtime runs them."""

from __future__ import annotations

import uuid

import boto3
import pytest

from common.db import transaction
from common.lake import open_lake
from foreman.dispatch import settle_waiting_jobs
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.integration.workers.jobrunner import run_all_pending
from tests.integration.workers.test_s3_delivery import upload_folder
from workers.processors.indices import request_index
from workers.submit import submit_survey

pytestmark = [pytest.mark.integration, pytest.mark.salmon]


def test_index_from_s3_files_and_a_sample_from_an_s3_delivery_into_an_s3_lake(
    make_env, moto_server, tmp_path
):
    s3 = boto3.client("s3")
    suffix = uuid.uuid4().hex[:8]
    lake, inbox = f"lake-{suffix}", f"inbox-{suffix}"
    s3.create_bucket(Bucket=lake)
    s3.create_bucket(Bucket=inbox)
    env = make_env("rnaseqs3", lake={"backend": "s3", "bucket": lake},
                   aws={"endpoint_url": moto_server.endpoint_url})  # fmt: skip
    organism = make_organism(8, genes=30)
    organism.write_genome(tmp_path / "reference")
    upload_folder(s3, tmp_path / "reference", inbox, "reference/")
    write_delivery(
        tmp_path / "delivery", organism, [PlannedSample("S1", paired=True, fragments=4000)]
    )
    upload_folder(s3, tmp_path / "delivery", inbox, "run/")
    with transaction(env) as conn:
        request = request_index(conn, env, organism.name,
                                fasta=f"s3://{inbox}/reference/genome.fa.gz",
                                gtf=f"s3://{inbox}/reference/annotation.gtf.gz")  # fmt: skip
        submit_survey(conn, f"s3://{inbox}/run", env)
    with transaction(env) as conn:
        for _ in range(4):
            run_all_pending(env, conn, tmp_path)
            settle_waiting_jobs(conn, env)
        with conn.cursor() as cur:
            cur.execute("SELECT kind, payload->>'application', state FROM jobs ORDER BY id")
            jobs = cur.fetchall()
            cur.execute("SELECT metadata FROM analyses WHERE application = 'summarise'")
            (summary,) = cur.fetchone()
    assert all(state == "succeeded" for _, _, state in jobs), jobs
    assert ("process", "salmon", "succeeded") in jobs
    assert summary["samples"].keys() == {"RNA1-S1-RUN1"} and summary["index_id"] == request.index_id
    stored = {info.key for info in open_lake(env).list(request.prefix)}
    kept = ("tx2gene.tsv", "transcripts.fa.gz", "long/info.json", "short/info.json")
    assert {request.prefix + name for name in kept} <= stored
