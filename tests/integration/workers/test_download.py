"""Downloads: file:// and http(s)://, resumed with Range after a broken transfer, verified."""

from __future__ import annotations

import hashlib

import pytest

from common import catalog
from common.errors import JobError
from common.lake import open_lake
from foreman.jobs import enqueue_job
from tests.integration.workers.jobrunner import enqueue_and_run, run_job

pytestmark = pytest.mark.integration

CONTENT = b"".join(b"@r%d\n%s\n+\n%s\n" % (i, b"ACGT" * 50, b"I" * 200) for i in range(2000))


def catalog_file(conn, url, *, size=None, md5=None, name="reads.fastq"):
    """One experiment with one original file pointing at `url` (as a survey would make it)."""
    md5 = md5 if md5 is not None else hashlib.md5(CONTENT).hexdigest()
    size = size if size is not None else len(CONTENT)
    project, _ = catalog.upsert_project(conn, "delivery", "P1")
    individual, _ = catalog.upsert_individual(conn, project, "I1")
    sample, _ = catalog.upsert_sample(conn, individual, "S1")
    aliquot, _ = catalog.upsert_aliquot(conn, sample, "S1")
    experiment, _ = catalog.upsert_experiment(conn, aliquot, "P1-S1-R1")
    file_id, _ = catalog.insert_original_file(
        conn,
        experiment,
        name,
        f"raw/delivery-P1/P1-S1-R1/{name}",
        source_url=url,
        size_bytes=size,
        source_md5=md5,
    )
    conn.commit()
    return file_id, experiment


def file_row(conn, file_id):
    with conn.cursor() as cur:
        cur.execute("SELECT sha256, size_bytes, stored_at FROM files WHERE id = %s", (file_id,))
        row = cur.fetchone()
    conn.commit()
    return row


def process_jobs(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT payload, dedupe_key, parent_job_id FROM jobs WHERE kind = 'process'")
        rows = cur.fetchall()
    conn.commit()
    return rows


def test_http_download_is_stored_verified_and_queues_processing(env, conn, tmp_path, http_server):
    http_server.state.files["/data/reads.fastq"] = CONTENT
    file_id, experiment = catalog_file(conn, http_server.url("/data/reads.fastq"))
    result = enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    sha256 = hashlib.sha256(CONTENT).hexdigest()
    assert result["sha256"] == sha256 and result["requests"] == 1
    lake = open_lake(env)
    with lake.open_read("raw/delivery-P1/P1-S1-R1/reads.fastq") as handle:
        assert handle.read() == CONTENT
    stored_sha, size, stored_at = file_row(conn, file_id)
    assert (stored_sha, size) == (sha256, len(CONTENT)) and stored_at is not None
    ((payload, dedupe_key, parent),) = process_jobs(conn)
    assert payload == {
        "application": "fastq_qc",
        "experiment_ids": [experiment],
        "run_by": "refinery-bot",
    }
    assert dedupe_key == f"process:fastq_qc:experiment:{experiment}"
    assert parent is not None
    assert list(lake.staging_dir().iterdir()) == []


def test_a_broken_transfer_is_resumed_by_the_next_attempt_with_a_range_request(
    make_env, tmp_path, http_server
):
    from common.db import connect

    env = make_env("resume", download={"retries": 0})
    conn = connect(env)
    try:
        http_server.state.files["/reads.fastq"] = CONTENT
        http_server.state.break_once.add("/reads.fastq")
        file_id, _ = catalog_file(conn, http_server.url("/reads.fastq"))
        job_id, _ = enqueue_job(conn, "download", {"file_id": file_id})
        conn.commit()
        with pytest.raises(JobError, match="broke off at"):
            run_job(env, conn, job_id, tmp_path)
        partial = open_lake(env).staging_dir() / f"download-file-{file_id}.part"
        kept = partial.stat().st_size
        assert 0 < kept < len(CONTENT)
        assert file_row(conn, file_id)[2] is None
        result = run_job(env, conn, job_id, tmp_path)
        assert result["resumed_from"] == kept
        assert http_server.state.requests[-1].range == f"bytes={kept}-"
        assert result["sha256"] == hashlib.sha256(CONTENT).hexdigest()
        assert not partial.exists()
    finally:
        conn.close()


def test_a_drop_half_way_resumes_within_one_attempt(env, conn, tmp_path, http_server):
    http_server.state.files["/reads.fastq"] = CONTENT
    http_server.state.break_once.add("/reads.fastq")
    file_id, _ = catalog_file(conn, http_server.url("/reads.fastq"))
    result = enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    assert result["requests"] == 2
    assert http_server.state.requests[0].range is None
    assert http_server.state.requests[1].range.startswith("bytes=")
    assert result["sha256"] == hashlib.sha256(CONTENT).hexdigest()


def test_a_server_ignoring_ranges_makes_the_download_start_over(env, conn, tmp_path, http_server):
    http_server.state.files["/reads.fastq"] = CONTENT
    http_server.state.ignore_range = True
    file_id, _ = catalog_file(conn, http_server.url("/reads.fastq"))
    partial = open_lake(env).staging_dir() / f"download-file-{file_id}.part"
    partial.write_bytes(b"garbage that is not the start of the file")
    result = enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    assert result["sha256"] == hashlib.sha256(CONTENT).hexdigest()


def test_file_url_download_is_stored(env, conn, tmp_path):
    source = tmp_path / "core" / "reads.fastq"
    source.parent.mkdir()
    source.write_bytes(CONTENT)
    file_id, _ = catalog_file(conn, source.as_uri())
    result = enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    assert result["size_bytes"] == len(CONTENT)
    assert file_row(conn, file_id)[0] == hashlib.sha256(CONTENT).hexdigest()


def test_checksum_mismatch_stores_nothing_and_leaves_the_row_unchanged(
    env, conn, tmp_path, http_server
):
    http_server.state.files["/reads.fastq"] = CONTENT
    file_id, _ = catalog_file(conn, http_server.url("/reads.fastq"), md5="0" * 32)
    before = file_row(conn, file_id)
    with pytest.raises(JobError, match="checksum mismatch") as caught:
        enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    assert "\n" not in str(caught.value)
    assert file_row(conn, file_id) == before
    lake = open_lake(env)
    assert list(lake.list("raw/")) == []
    assert list(lake.staging_dir().iterdir()) == []
    assert process_jobs(conn) == []


def test_size_mismatch_is_refused(env, conn, tmp_path, http_server):
    http_server.state.files["/reads.fastq"] = CONTENT
    file_id, _ = catalog_file(conn, http_server.url("/reads.fastq"), size=len(CONTENT) + 1)
    with pytest.raises(JobError, match="size mismatch"):
        enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    assert file_row(conn, file_id)[2] is None


@pytest.mark.parametrize("where", ["http", "file"])
def test_a_missing_source_file_is_a_clear_error(env, conn, tmp_path, http_server, where):
    url = http_server.url("/gone.fastq") if where == "http" else (tmp_path / "gone").as_uri()
    file_id, _ = catalog_file(conn, url)
    with pytest.raises(JobError, match=r"not at the source|is missing"):
        enqueue_and_run(env, conn, "download", {"file_id": file_id}, tmp_path)
    assert file_row(conn, file_id)[2] is None


def test_two_downloads_finishing_together_queue_the_experiment_exactly_once(
    env, conn, tmp_path, http_server
):
    """The second download waits on the experiment lock, then sees the first one's file."""
    import threading

    from common.db import connect
    from foreman.jobs import finish_attempt
    from tests.integration.workers.jobrunner import context_for, dispatch
    from workers.registry import find_handler

    http_server.state.files["/r1.fastq"] = CONTENT
    http_server.state.files["/r2.fastq"] = CONTENT
    first_file, experiment = catalog_file(conn, http_server.url("/r1.fastq"), name="r1.fastq")
    second_file, _ = catalog_file(conn, http_server.url("/r2.fastq"), name="r2.fastq")
    jobs = []
    for file_id in (first_file, second_file):
        job_id, _ = enqueue_job(conn, "download", {"file_id": file_id})
        jobs.append(job_id)
    conn.commit()
    other = connect(env)
    try:
        first = context_for(env, conn, dispatch(conn, jobs[0]), tmp_path / "a")
        second = context_for(env, other, dispatch(other, jobs[1]), tmp_path / "b")
        first_result = find_handler(first.job).run(first)  # holds the experiment lock, uncommitted
        outcome = {}
        thread = threading.Thread(
            target=lambda: outcome.setdefault("result", find_handler(second.job).run(second))
        )
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the second download did not wait for the experiment lock"
        finish_attempt(conn, first.job, succeeded=True, result=first_result)
        conn.commit()
        thread.join(30)
        finish_attempt(other, second.job, succeeded=True, result=outcome["result"])
        other.commit()
    finally:
        other.close()
    assert first_result["process_job_id"] is None
    assert outcome["result"]["process_job_id"] is not None
    ((payload, _key, parent),) = process_jobs(conn)
    assert payload["experiment_ids"] == [experiment] and parent == jobs[1]
