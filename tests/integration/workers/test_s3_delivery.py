"""A delivery uploaded to S3: surveyed through `inv jobs.survey -e ENV s3://…` with the same
sample-sheet rules as a folder, and its files downloaded from S3 into an S3 lake."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest

from common import db
from common.environments import REPO_ROOT
from common.lake import open_lake
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import CATALOG_TABLES, count_rows, run_all_pending
from tests.support.buckets import new_lake_and_inbox

pytestmark = pytest.mark.integration


def upload_folder(s3, folder, bucket: str, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder).as_posix()}")


@pytest.fixture
def s3_env(make_env, moto_server):
    s3 = boto3.client("s3")
    lake, inbox = new_lake_and_inbox(s3, "deliveries")
    env = make_env(
        "s3delivery",
        lake={"backend": "s3", "bucket": lake},
        aws={"endpoint_url": moto_server.endpoint_url},
        pipeline={"application": "fastq_qc"},
    )
    return env, s3, inbox


def _survey(env, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "jobs.survey", "-e", env.name, source, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


def test_an_s3_delivery_is_surveyed_downloaded_and_processed(s3_env, tmp_path):
    env, s3, inbox = s3_env
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=40)
    upload_folder(s3, delivery.folder, inbox, "cores/run-7/")

    queued = _survey(env, f"s3://{inbox}/cores/run-7")
    assert queued.returncode == 0, queued.stderr
    assert f'"location": "s3://{inbox}/cores/run-7/"' in queued.stdout

    conn = db.connect(env)
    try:
        ran = run_all_pending(env, conn, tmp_path / "scratch")
        with conn.cursor() as cur:
            cur.execute("SELECT kind, state FROM jobs ORDER BY id")
            jobs = cur.fetchall()
            cur.execute("SELECT source_url, lake_key, size_bytes, sha256 FROM files"
                        " WHERE kind = 'original' ORDER BY id")  # fmt: skip
            files = cur.fetchall()
        conn.commit()
    finally:
        conn.close()
    assert len(ran) == 1 + 4 + 2  # the survey, a download per FASTQ, a QC per experiment
    assert {state for _, state in jobs} == {"succeeded"}
    assert [url for url, *_ in files] == [
        f"s3://{inbox}/cores/run-7/fastq/{name}"
        for name in ("S1_R1.fastq.gz", "S1_R2.fastq.gz", "S2_R1.fastq.gz", "S2_R2.fastq.gz")
    ]
    lake = open_lake(env)
    for _url, key, size, sha256 in files:
        assert lake.stat(key).size == size and sha256


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda s3, b: s3.delete_object(Bucket=b, Key="d/fastq/S2_R2.fastq.gz"),
         "read2 fastq/S2_R2.fastq.gz does not exist in the delivery"),
        (lambda s3, b: s3.delete_object(Bucket=b, Key="d/samplesheet.csv"),
         "samplesheet.csv is missing"),
        (lambda s3, b: s3.put_object(Bucket=b, Key="d/samplesheet.csv",
                                     Body=b"project,sample_id\nP,S\n"),
         "missing column 'individual'"),
    ],
)  # fmt: skip
def test_a_malformed_s3_delivery_is_refused_before_anything_is_queued(
    s3_env, tmp_path, break_it, message
):
    env, s3, inbox = s3_env
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=10)
    upload_folder(s3, delivery.folder, inbox, "d/")
    break_it(s3, inbox)
    conn = db.connect(env)
    try:
        before = count_rows(conn, *CATALOG_TABLES)
        refused = _survey(env, f"s3://{inbox}/d/")
        assert refused.returncode != 0
        assert message in refused.stderr
        assert "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
        assert count_rows(conn, *CATALOG_TABLES) == before
    finally:
        conn.close()
    missing = _survey(env, f"s3://{inbox}/nothing-here/")
    assert missing.returncode != 0 and "does not exist or is empty" in missing.stderr
