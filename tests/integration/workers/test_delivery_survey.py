"""Surveying a delivery: catalog rows and a download job per file, once; bad sheets add nothing."""

from __future__ import annotations

import pytest

from common.errors import ValidationError
from foreman.jobs import get_job
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import (
    CATALOG_TABLES,
    count_rows,
    enqueue_and_run,
    run_all_pending,
)

pytestmark = pytest.mark.integration


def test_survey_catalogs_every_run_and_queues_one_download_per_file(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=3, reads=50)
    payload = {"source": "delivery", "location": str(delivery.folder)}
    result = enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    assert result["created"] == {
        "projects": 1,
        "individuals": 2,
        "samples": 3,
        "aliquots": 3,
        "experiments": 3,
        "files": 6,
        "download_jobs": 6,
    }
    with conn.cursor() as cur:
        cur.execute(
            "SELECT f.lake_key, f.size_bytes, f.source_md5, f.stored_at, j.dedupe_key, "
            "j.parent_job_id, j.payload FROM files f JOIN jobs j ON j.payload->>'file_id' = "
            "f.id::text ORDER BY f.id"
        )
        rows = cur.fetchall()
    conn.commit()
    survey_job_id = min(row[5] for row in rows)
    assert get_job(conn, survey_job_id).kind == "survey"
    assert rows[0][0] == "raw/delivery-DEMO/DEMO-S1-RUN1_L001/S1_R1.fastq.gz"
    for _lake_key, size, md5, stored_at, dedupe_key, parent, payload in rows:
        assert size > 0 and len(md5) == 32 and stored_at is None
        assert dedupe_key == f"download:file:{payload['file_id']}"
        assert parent == survey_job_id


def test_surveying_the_same_delivery_twice_adds_no_rows(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=20)
    payload = {"source": "delivery", "location": str(delivery.folder)}
    enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    before = count_rows(conn, *CATALOG_TABLES)
    again = enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    after = count_rows(conn, *CATALOG_TABLES)
    assert after == {**before, "jobs": before["jobs"] + 1}  # only the second survey job itself
    assert set(again["created"].values()) == {0}
    assert len(again["download_job_ids"]) == 4


def test_a_malformed_delivery_writes_nothing(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=20)
    (delivery.folder / "fastq" / "S2_R2.fastq.gz").unlink()
    payload = {"source": "delivery", "location": str(delivery.folder)}
    before = count_rows(conn, *CATALOG_TABLES)
    with pytest.raises(ValidationError, match=r"S2_R2\.fastq\.gz does not exist"):
        enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    after = count_rows(conn, *CATALOG_TABLES)
    assert after == {**before, "jobs": before["jobs"] + 1}
    with conn.cursor() as cur:
        cur.execute("SELECT state, failure_reason FROM jobs WHERE kind = 'survey'")
        state, reason = cur.fetchone()
    conn.commit()
    assert state == "pending"  # errored, then put back for a retry by the test's runner
    assert "S2_R2.fastq.gz does not exist" in reason


def test_a_changed_unstored_file_takes_the_new_size_and_checksum_on_resurvey(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=20)
    payload = {"source": "delivery", "location": str(delivery.folder)}
    enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    write_demo_delivery(tmp_path / "delivery", samples=1, reads=30)  # the core re-delivered
    enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    with conn.cursor() as cur:
        cur.execute("SELECT name, size_bytes FROM files ORDER BY name")
        rows = cur.fetchall()
    conn.commit()
    assert rows == [(path.name, path.stat().st_size) for path in sorted(delivery.fastq_files)]


def test_the_same_run_under_another_individual_is_refused(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=20)
    payload = {"source": "delivery", "location": str(delivery.folder)}
    enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    sheet = delivery.sample_sheet.read_text().replace(",P1,", ",P9,")
    delivery.sample_sheet.write_text(sheet)
    before = count_rows(conn, *CATALOG_TABLES)
    with pytest.raises(ValidationError, match="already catalogued under another sample"):
        enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    assert count_rows(conn, *CATALOG_TABLES) == {**before, "jobs": before["jobs"] + 1}


def test_file_names_that_collide_in_the_lake_are_refused(env, conn, tmp_path):
    folder = tmp_path / "delivery"
    folder.mkdir()
    for name in ("a b.fq", "a_b.fq"):
        (folder / name).write_bytes(b"@r\nA\n+\nI\n")
    (folder / "samplesheet.csv").write_text(
        "project,sample_id,individual,species,tissue,run_id,read1,read2\n"
        "P,S,I,Homo sapiens,blood,R1,a b.fq,a_b.fq\n"
    )
    payload = {"source": "delivery", "location": str(folder)}
    with pytest.raises(ValidationError, match="map to the same lake key"):
        enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    assert count_rows(conn, "files") == {"files": 0}


def _stored_delivery(env, conn, tmp_path):
    """A delivery surveyed and downloaded (its files stored), with its catalog's contents."""
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=20)
    payload = {"source": "delivery", "location": str(delivery.folder)}
    enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    run_all_pending(env, conn, tmp_path / "scratch", kinds=("download",))
    return delivery, payload, _files(conn)


def _files(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, lake_key, source_url, size_bytes, source_md5, sha256, stored_at "
            "FROM files ORDER BY id"
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def _survey_job_failure(conn) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT failure_reason FROM jobs WHERE kind = 'survey' ORDER BY id DESC")
        reason = cur.fetchone()[0]
    conn.commit()
    return reason


def test_a_redelivered_stored_file_with_another_size_is_refused_with_the_reason(
    env, conn, tmp_path
):
    delivery, payload, before = _stored_delivery(env, conn, tmp_path)
    assert all(row[6] is not None for row in before)  # stored
    fastq = delivery.fastq_files[0]
    fastq.write_bytes(fastq.read_bytes() + b"\n")  # the core re-delivered another file
    counts = count_rows(conn, *CATALOG_TABLES)
    with pytest.raises(ValidationError, match=rf"{fastq.name} .* size \d+ -> \d+ bytes"):
        enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    assert _files(conn) == before
    assert count_rows(conn, *CATALOG_TABLES) == {**counts, "jobs": counts["jobs"] + 1}
    assert "a changed re-delivery is refused" in _survey_job_failure(conn)


def test_a_redelivered_stored_file_with_the_same_size_but_new_bytes_is_refused(env, conn, tmp_path):
    delivery, payload, before = _stored_delivery(env, conn, tmp_path)
    fastq = delivery.fastq_files[0]
    original = fastq.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    fastq.write_bytes(bytes(data))  # same size, and no md5 in the sheet... or a stale one
    with pytest.raises(ValidationError, match=rf"{fastq.name} .*content changed"):
        enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    assert _files(conn) == before
    fastq.write_bytes(original)  # touched since it was stored, but the same bytes: accepted
    again = enqueue_and_run(env, conn, "survey", payload, tmp_path / "scratch")
    assert set(again["created"].values()) == {0} and again["updated_files"] == []
    assert _files(conn) == before


def test_a_redelivery_from_another_folder_is_refused_for_stored_files(env, conn, tmp_path):
    _delivery, _payload, before = _stored_delivery(env, conn, tmp_path)
    moved = write_demo_delivery(tmp_path / "elsewhere", samples=1, reads=20)
    with pytest.raises(ValidationError, match=r"source file://.* -> file://.*elsewhere"):
        enqueue_and_run(
            env, conn, "survey", {"source": "delivery", "location": str(moved.folder)},
            tmp_path / "scratch",
        )  # fmt: skip
    assert _files(conn) == before
