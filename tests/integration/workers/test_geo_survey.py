"""Surveying a GEO series: recorded SOFT and ENA answers and FASTQ files served on loopback.

The series mixes RNA-seq samples with an array on an Affymetrix platform that has only the
submitter's processed table (GSM6057003): it is catalogued as an array and its table downloaded
from GEO's accession viewer, and its conversion fails for good naming the chip this
environment was never given (converting tables is tested in tests/integration/arrays).

`inv jobs.survey -e ENV GSE…` looks the series up at GEO before queueing; a real foreman then
runs the survey (SOFT family file → samples → ENA file report per SRA experiment → catalog)
and the downloads it queued, from the loopback archive.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

from common.db import connect
from common.environments import REPO_ROOT
from ops.jobs.tasks_survey import survey
from tests.integration.workers.jobrunner import (
    CATALOG_TABLES,
    FIXTURES,
    count_rows,
    enqueue_and_run,
)
from tests.support.foreman import FAST_FOREMAN, fetch, wait_until
from workers.submit import job_tree_progress

pytestmark = pytest.mark.integration

GEO = FIXTURES / "geo"
SERIES = "GSE201384"
SOFT_PATH = f"/geo/series/GSE201nnn/{SERIES}/soft/{SERIES}_family.soft.gz"
INV = str(Path(sys.executable).with_name("inv"))
TABLE_QUERY = "/geo-query/acc.cgi?acc=GSM6057003&targ=self&form=text&view=data"
FASTQ = {
    "SRR19000001_1.fastq.gz": "/mirror/ftp.sra.ebi.ac.uk/vol1/fastq/SRR190/001/SRR19000001/",
    "SRR19000001_2.fastq.gz": "/mirror/ftp.sra.ebi.ac.uk/vol1/fastq/SRR190/001/SRR19000001/",
    "SRR19000002.fastq.gz": "/mirror/ftp.sra.ebi.ac.uk/vol1/fastq/SRR190/002/SRR19000002/",
    "SRR19000003.fastq.gz": "/mirror/ftp.sra.ebi.ac.uk/vol1/fastq/SRR190/003/SRR19000003/",
}


def serve_series(http_server, soft: bytes | None = None) -> None:
    """GEO's family file, ENA's reports of the two SRA experiments, and their FASTQ files."""
    soft = (GEO / f"{SERIES}_family.soft").read_bytes() if soft is None else soft
    http_server.state.files[SOFT_PATH] = gzip.compress(soft)
    for experiment in ("SRX15000001", "SRX15000002"):
        report = (GEO / f"filereport_{experiment}.tsv").read_bytes()
        http_server.state.ena_default[experiment] = (200, report)
    for name, folder in FASTQ.items():
        http_server.state.files[folder + name] = (GEO / name).read_bytes()
    http_server.state.files[TABLE_QUERY] = (GEO / "GSM6057003_view_data.txt").read_bytes()


@pytest.fixture
def geo_env(make_env, http_server):
    return make_env(
        "geo",
        geo={
            "base_url": http_server.url("/geo"),
            "query_url": http_server.url("/geo-query/acc.cgi"),
            "retries": 1,
            "backoff_seconds": 0.01,
        },
        ena={
            "portal_url": http_server.url("/ena/portal/api"),
            "archive_mirror_url": http_server.url("/mirror"),
            "retries": 1,
            "backoff_seconds": 0.01,
        },
        pipeline={"application": "no_op"},
        foreman={**FAST_FOREMAN, "metrics_address": ""},
        executor={"kind": "local", "concurrency": 2},
    )


def inv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180,
        stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_a_series_is_surveyed_through_inv_and_a_foreman_to_its_stored_runs(
    geo_env, http_server, session_dirs
):
    serve_series(http_server)
    queued = inv("jobs.survey", "-e", geo_env.name, SERIES.lower(), "--json")
    assert queued.returncode == 0, queued.stderr
    assert fetch(geo_env, "SELECT kind, payload FROM jobs") == [
        ("survey", {"source": "geo", "accession": SERIES})
    ]
    (survey_id,) = fetch(geo_env, "SELECT id FROM jobs")[0]
    log = open(session_dirs["logs"] / "foreman-geo.log", "ab")  # noqa: SIM115 - closed below
    foreman = subprocess.Popen(
        [sys.executable, "-m", "foreman", "run", "-e", geo_env.name], cwd=REPO_ROOT,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        conn = connect(geo_env)
        try:
            progress = wait_until(
                lambda: _done(conn, survey_id), timeout=240, what="the survey's job tree to end"
            )
        finally:
            conn.close()
    finally:
        foreman.send_signal(signal.SIGTERM)
        foreman.wait(timeout=60)
        log.close()
    ((table_job, reason),) = fetch(
        geo_env, "SELECT id, failure_reason FROM jobs WHERE payload->>'application' = 'geo_table'"
    )
    assert [job for job, _, _ in progress.failed] == [
        table_job
    ] and progress.succeeded == progress.total - 1
    assert "chip Mouse430_2 (mouse4302cdf) is not known to this platform" in reason

    ((result,),) = fetch(geo_env, "SELECT result FROM jobs WHERE id = %s", (survey_id,))
    assert result["samples"] == 3 and result["samples_without_sra"] == []
    assert result["arrays"] == ["GSM6057003"]
    assert result["runs"] == 4 and result["created"]["download_jobs"] == 5
    downloads = fetch(geo_env, "SELECT state FROM jobs WHERE kind = 'download'")
    assert downloads == [("succeeded",)] * 5
    asked = [r.path for r in http_server.state.requests]
    assert asked.count(SOFT_PATH) == 2  # looked up by inv, then read by the survey
    assert asked.count("/ena/portal/api/filereport") == 2

    ((title, summary, metadata),) = fetch(
        geo_env, "SELECT title, summary, metadata FROM projects WHERE source = 'geo'"
    )
    assert title == "Hepatic transcriptome of fasted and fed mice"
    assert summary.startswith("Livers of mice fasted") and summary.endswith("for comparison.")
    assert metadata["platforms"] == ["GPL24247", "GPL1261"]
    assert metadata["pubmed_ids"] == ["35500001"]
    runs = fetch(
        geo_env,
        "SELECT s.name, s.tissue, i.species, s.metadata, a.name, e.accession, e.library_layout "
        "FROM experiments e JOIN aliquots a ON a.id = e.aliquot_id "
        "JOIN samples s ON s.id = a.sample_id JOIN individuals i ON i.id = s.individual_id "
        "ORDER BY e.accession",
    )
    assert [(r[0], r[4], r[5], r[6]) for r in runs] == [
        ("GSM6057003", "GSM6057003", "GSM6057003", ""),  # the array, its table to convert
        ("GSM6057001", "SRX15000001", "SRR19000001", "PAIRED"),
        ("GSM6057002", "SRX15000002", "SRR19000002", "SINGLE"),
        ("GSM6057002", "SRX15000002", "SRR19000003", "SINGLE"),
    ]
    assert {(r[1], r[2]) for r in runs} == {("liver", "Mus musculus")}
    first = runs[1][3]
    assert first["geo"]["characteristics"]["diet"] == "fasted 24 h"
    assert first["geo"]["title"] == "liver, fasted, mouse 1"
    assert first["secondary_sample_accession"] == "SRS12800001"  # ENA's fields kept beside
    stored = fetch(
        geo_env,
        "SELECT lake_key, sha256 IS NOT NULL FROM files "
        "WHERE kind = 'original' AND stored_at IS NOT NULL ORDER BY 1",
    )
    assert len(stored) == 5 and all(has_sha256 for _, has_sha256 in stored)
    assert stored[0][0] == "raw/geo-GSE201384/GSM6057003/GSM6057003_table.txt"
    assert stored[1][0] == "raw/geo-GSE201384/SRR19000001/SRR19000001_1.fastq.gz"


def _done(conn, survey_id: int):
    progress = job_tree_progress(conn, survey_id)
    conn.commit()
    # survey, 5 downloads, the no_op process queued per stored run, the table's conversion
    return progress if progress.done and progress.total >= 10 else None


@pytest.mark.parametrize(
    ("source", "code", "says"),
    [
        ("GSE12x", 2, "'GSE12x' is not a GEO series accession (GSE and ASCII digits)"),
        ("GSE999999", 2, "GEO has no series GSE999999 (HTTP 404); check the accession"),
        ("GSE201384", 1, "GEO's SOFT file for GSE201384 failed after 2 tries"),
    ],
)
def test_malformed_unknown_and_unreadable_series_are_refused_before_anything_is_queued(
    geo_env, http_server, source, code, says
):
    http_server.state.files[SOFT_PATH] = gzip.compress(b"^SERIES = GSE201384\n")[:-8]
    refused = inv("jobs.survey", "-e", geo_env.name, source)
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == code, refused.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0]
    assert "Traceback" not in refused.stderr
    assert fetch(geo_env, "SELECT count(*) FROM jobs") == [(0,)]


def test_a_second_survey_adds_nothing_and_unknown_experiments_are_named(
    geo_env, http_server, tmp_path
):
    soft = (GEO / f"{SERIES}_family.soft").read_bytes()
    serve_series(http_server, soft.replace(b"term=SRX15000002", b"term=SRX15000009"))
    conn = connect(geo_env)
    try:
        payload = {"source": "geo", "accession": SERIES}
        first = enqueue_and_run(geo_env, conn, "survey", payload, tmp_path)
        assert first["experiments_unknown_to_ena"] == ["SRX15000009"]
        assert first["runs"] == 2 and first["created"]["files"] == 3  # a run and the array
        before = count_rows(conn, *CATALOG_TABLES)
        again = enqueue_and_run(geo_env, conn, "survey", payload, tmp_path)
        assert again["created"]["download_jobs"] == 0
        assert count_rows(conn, *CATALOG_TABLES) == {**before, "jobs": before["jobs"] + 1}
    finally:
        conn.close()


def test_a_survey_list_may_name_series(geo_env, http_server, tmp_path):
    serve_series(http_server)
    listing = tmp_path / "sources.txt"
    listing.write_text(f"{SERIES}\nGSE999999\n")
    with pytest.raises(Exit, match="line 2: GEO has no series GSE999999") as caught:
        survey(Context(), env=geo_env.name, file=str(listing))
    assert caught.value.code == 2
    listing.write_text(f"# spring\n{SERIES}\n")
    survey(Context(), env=geo_env.name, file=str(listing))
    assert fetch(geo_env, "SELECT payload FROM jobs") == [({"source": "geo", "accession": SERIES},)]
