"""Surveying ENA accessions against recorded Portal API answers served on loopback."""

from __future__ import annotations

import pytest

from common.db import connect
from common.errors import JobError, ValidationError
from tests.integration.workers.jobrunner import (
    CATALOG_TABLES,
    FIXTURES,
    count_rows,
    enqueue_and_run,
)

pytestmark = pytest.mark.integration

PAIRED = (FIXTURES / "ena/filereport_ERR2223563_paired.tsv").read_bytes()
ALL_FIELDS = (FIXTURES / "ena/filereport_SRR9320616_all_fields.tsv").read_bytes()


@pytest.fixture
def ena_env(make_env, http_server):
    env = make_env(
        "ena",
        ena={
            "portal_url": http_server.url("/ena/portal/api"),
            "retries": 3,
            "backoff_seconds": 0.01,
            "timeout_seconds": 5,
        },
    )
    conn = connect(env)
    yield env, conn
    conn.close()


def test_run_accession_is_catalogued_with_its_files_and_downloads(ena_env, http_server, tmp_path):
    env, conn = ena_env
    http_server.state.ena_default["SRR9320616"] = (200, ALL_FIELDS)
    result = enqueue_and_run(
        env, conn, "survey", {"source": "ena", "accession": "srr9320616"}, tmp_path
    )
    assert result["created"]["experiments"] == 1 and result["created"]["download_jobs"] == 1
    request = http_server.state.requests[-1]
    assert request.path == "/ena/portal/api/filereport"
    assert request.query["result"] == ["read_run"] and request.query["format"] == ["tsv"]
    assert "fastq_ftp" in request.query["fields"][0]
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.accession, p.title, e.accession, e.library_layout, f.source_url, "
            "f.size_bytes, f.source_md5, f.lake_key FROM files f "
            "JOIN experiments e ON e.id = f.experiment_id JOIN aliquots a ON a.id = e.aliquot_id "
            "JOIN samples s ON s.id = a.sample_id JOIN individuals i ON i.id = s.individual_id "
            "JOIN projects p ON p.id = i.project_id"
        )
        (row,) = cur.fetchall()
    conn.commit()
    assert row[0] == "PRJNA549480" and row[1].startswith("A murine aging")
    assert row[2:4] == ("SRR9320616", "PAIRED")
    assert row[4] == (
        "https://ftp.sra.ebi.ac.uk/vol1/fastq/SRR932/006/SRR9320616/SRR9320616.fastq.gz"
    )
    assert row[5:7] == (7763114613, "98c939bbae1a1fcf9624905516485b67")
    assert row[7] == "raw/ena-PRJNA549480/SRR9320616/SRR9320616.fastq.gz"
    before = count_rows(conn, *CATALOG_TABLES)
    enqueue_and_run(env, conn, "survey", {"source": "ena", "accession": "SRR9320616"}, tmp_path)
    assert count_rows(conn, *CATALOG_TABLES) == {**before, "jobs": before["jobs"] + 1}


def test_truncated_and_empty_answers_are_retried_until_a_complete_one(
    ena_env, http_server, tmp_path
):
    env, conn = ena_env
    answers = http_server.state.ena_answers["ERR2223563"]
    answers.extend([(200, b""), (200, PAIRED[:80]), (503, b"busy"), (200, PAIRED)])
    result = enqueue_and_run(
        env, conn, "survey", {"source": "ena", "accession": "ERR2223563"}, tmp_path
    )
    assert result["created"]["files"] == 2
    assert len(http_server.state.requests) == 4


def test_answers_that_stay_broken_fail_the_job_and_write_nothing(ena_env, http_server, tmp_path):
    env, conn = ena_env
    unequal = PAIRED.replace(b";5d848b65379c195fe158a5d7324b4a18", b"")
    http_server.state.ena_default["ERR2223563"] = (200, unequal)
    before = count_rows(conn, *CATALOG_TABLES)
    with pytest.raises(JobError, match=r"failed after 4 tries .*1 md5s"):
        enqueue_and_run(env, conn, "survey", {"source": "ena", "accession": "ERR2223563"}, tmp_path)
    assert count_rows(conn, *CATALOG_TABLES) == {**before, "jobs": before["jobs"] + 1}


def test_an_unknown_accession_is_a_clear_error_without_retries(ena_env, http_server, tmp_path):
    env, conn = ena_env
    with pytest.raises(ValidationError, match=r"ENA refused SRR0000001 \(HTTP 400\)"):
        enqueue_and_run(env, conn, "survey", {"source": "ena", "accession": "SRR0000001"}, tmp_path)
    assert len(http_server.state.requests) == 1
    header = PAIRED.split(b"\n")[0] + b"\n"
    http_server.state.ena_default["ERR0000002"] = (200, header)
    with pytest.raises(ValidationError, match="no runs for ERR0000002"):
        enqueue_and_run(env, conn, "survey", {"source": "ena", "accession": "ERR0000002"}, tmp_path)


def test_a_malformed_accession_is_refused_before_any_request(ena_env, http_server, tmp_path):
    env, conn = ena_env
    with pytest.raises(ValidationError, match="not an ENA run"):
        enqueue_and_run(env, conn, "survey", {"source": "ena", "accession": "SRR1;x"}, tmp_path)
    assert http_server.state.requests == []


def test_an_ena_survey_downloads_from_the_archive_over_http(make_env, http_server, tmp_path):
    """Whole path: report → catalog → download from the (loopback) archive → stored."""
    import gzip
    import hashlib

    content = gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 100)
    path = "/vol1/fastq/ERR000/ERR0000003/ERR0000003.fastq.gz"
    http_server.state.files[path] = content
    report = (
        "run_accession\tfastq_ftp\tfastq_md5\tfastq_bytes\n"
        f"ERR0000003\t127.0.0.1:{http_server.port}{path}\t"
        f"{hashlib.md5(content).hexdigest()}\t{len(content)}\n"
    )
    http_server.state.ena_default["ERR0000003"] = (200, report.encode())
    env = make_env(
        "ena2", ena={"portal_url": http_server.url("/ena/portal/api"), "archive_scheme": "http"}
    )
    conn = connect(env)
    try:
        survey = enqueue_and_run(
            env, conn, "survey", {"source": "ena", "accession": "ERR0000003"}, tmp_path
        )
        from tests.integration.workers.jobrunner import run_job

        (download_job,) = survey["download_job_ids"]
        result = run_job(env, conn, download_job, tmp_path)
        assert result["sha256"] == hashlib.sha256(content).hexdigest()
        assert result["process_job_id"] is not None
    finally:
        conn.close()
