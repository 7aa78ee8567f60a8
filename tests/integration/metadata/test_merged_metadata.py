"""Metadata merged at import: a delivery's samples gain the REDCap fields, shown in the QC
report's table and by projects.show, without a second copy of any sample."""

from __future__ import annotations

import pytest

from ops.local.demo_data import write_demo_delivery
from ops.local.qc_report import qc_rows, write_qc_report
from ops.metadata.sync import sync_metadata
from ops.projects.report import project_report
from tests.integration.workers.jobrunner import count_rows, enqueue_and_run
from tests.support.redcap import TOKEN

pytestmark = pytest.mark.integration


def test_synced_metadata_merges_into_surveyed_samples_and_shows_in_the_qc_table(
    make_env, redcap, tmp_path, monkeypatch
):
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", TOKEN)
    env = make_env("mq", metadata={"project": "DEMO", "redcap_url": redcap.url})
    from common.db import connect

    conn = connect(env)
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=10)
    enqueue_and_run(
        env,
        conn,
        "survey",
        {"source": "delivery", "location": str(delivery.folder)},
        tmp_path / "scratch",
    )
    for sample, tissue in (("S1", "blood"), ("S2", "liver")):
        redcap.project.put(
            sample,
            individual_id="P1",
            species="Homo sapiens",
            tissue=tissue,
            sex="female",
            diagnosis="CRC",
            collection_date="2026-02-01",
        )
    report = sync_metadata(env, execute=True)
    assert report.plan.counts()["individuals_changed"] == 1
    assert report.plan.counts()["samples_changed"] == 2
    assert count_rows(conn, "individuals", "samples") == {"individuals": 1, "samples": 2}
    rows = qc_rows(env)
    assert [row["metadata"] for row in rows] == [
        "collection_date=2026-02-01, diagnosis=CRC, sex=female"
    ] * 2
    html = write_qc_report(env, tmp_path / "qc.html").read_text()
    assert html.count("collection_date=2026-02-01, diagnosis=CRC, sex=female") == 2
    shown = project_report(env, "DEMO")
    assert shown.samples[0]["individual_metadata"] == {
        "species": "Homo sapiens",
        "sex": "female",
        "diagnosis": "CRC",
    }
    assert [s["state"] for s in shown.syncs] == ["applied"]
    conn.close()
