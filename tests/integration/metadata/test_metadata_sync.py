"""`inv metadata.sync` against a REDCap API on loopback: dry run, apply, idempotence, exact
field updates, removals reported, invalid records quarantined, the token kept secret."""

from __future__ import annotations

import json

import pytest
from invoke import Context
from invoke.exceptions import Exit

from ops.metadata.tasks import quarantine, sync
from tests.integration.workers.jobrunner import count_rows
from tests.support.metadata_fixtures import fill, settle
from tests.support.redcap import TOKEN

pytestmark = pytest.mark.integration
TABLES = ("individuals", "samples", "metadata_records", "metadata_quarantine", "imports")


def _sync(capsys, env, *, execute: bool) -> dict:
    capsys.readouterr()
    sync(Context(), env.name, execute=execute, json=True)
    return json.loads(capsys.readouterr().out)


def _metadata(conn):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT i.name, i.species, i.metadata, s.name, s.tissue, s.metadata FROM samples s "
            "JOIN individuals i ON i.id = s.individual_id ORDER BY s.name"
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def _runs(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT executed, state FROM metadata_sync_runs ORDER BY id")
        rows = cur.fetchall()
    conn.commit()
    return rows


def test_a_dry_run_shows_the_diff_and_execute_applies_it_once(
    metadata_env, md_conn, redcap, capsys
):
    fill(redcap.project)
    settle()
    dry = _sync(capsys, metadata_env, execute=False)
    assert dry["counts"] == {
        "individuals_new": 2,
        "samples_new": 4,
        "records_unchanged": 0,
        "quarantined": 0,
        "released": 0,
    }
    new_pt1 = next(c for c in dry["changes"] if c["individual"] == "PT1" and not c["sample"])
    assert new_pt1["fields"] == {
        "species": [None, "Homo sapiens"],
        "sex": [None, "female"],
        "diagnosis": [None, "CRC"],
    }
    assert count_rows(md_conn, *TABLES) == dict.fromkeys(TABLES, 0)
    applied = _sync(capsys, metadata_env, execute=True)
    assert applied["changes"] == dry["changes"]
    assert count_rows(md_conn, *TABLES) == {
        "individuals": 2,
        "samples": 4,
        "metadata_records": 4,
        "metadata_quarantine": 0,
        "imports": 1,
    }
    first = _metadata(md_conn)
    assert first[0] == (
        "PT1",
        "Homo sapiens",
        {"species": "Homo sapiens", "sex": "female", "diagnosis": "CRC"},
        "S1",
        "tumour",
        {"tissue": "tumour", "collection_date": "2026-02-01"},
    )
    again = _sync(capsys, metadata_env, execute=True)
    assert again["changes"] == [] and again["counts"]["records_unchanged"] == 0
    assert again["fetched"] == 0  # nothing changed since the watermark
    assert count_rows(md_conn, *TABLES)["samples"] == 4 and _metadata(md_conn) == first
    assert _runs(md_conn) == [(False, "dry-run"), (True, "applied"), (True, "applied")]


def test_a_changed_record_updates_exactly_its_fields_and_only_it_is_fetched(
    metadata_env, md_conn, redcap, capsys
):
    fill(redcap.project)
    settle()
    _sync(capsys, metadata_env, execute=True)
    before = _metadata(md_conn)
    redcap.project.put("S3", collection_date="2026-03-03", tumor_content="40")
    for sample in ("S3", "S4"):  # an individual-level change, on each of PT2's records
        redcap.project.put(sample, sex="unknown", diagnosis="")
    asked_before = len(redcap.project.asked_records())
    result = _sync(capsys, metadata_env, execute=True)
    assert redcap.project.asked_records()[asked_before:] == [["S3", "S4"]]
    assert [
        (c["action"], c["level"], c["individual"], c["sample"], c["fields"])
        for c in result["changes"]
    ] == [
        (
            "changed",
            "individual",
            "PT2",
            "",
            {"diagnosis": ["CRC", None], "sex": ["male", "unknown"]},
        ),
        (
            "changed",
            "sample",
            "PT2",
            "S3",
            {"collection_date": ["2026-02-03", "2026-03-03"], "tumor_content": [None, "40"]},
        ),
    ]
    after = _metadata(md_conn)
    assert after[:2] == before[:2]  # PT1's samples untouched
    assert after[2][2] == {"species": "Homo sapiens", "sex": "unknown"}
    assert after[2][5] == {
        "tissue": "tumour",
        "collection_date": "2026-03-03",
        "tumor_content": "40",
    }
    assert after[3][5] == before[3][5]


def test_a_removed_record_is_reported_on_every_run_and_not_dropped(
    metadata_env, md_conn, redcap, capsys
):
    fill(redcap.project)
    _sync(capsys, metadata_env, execute=True)
    redcap.project.delete("S2")
    for _ in range(2):
        result = _sync(capsys, metadata_env, execute=True)
        removed = [c for c in result["changes"] if c["action"] == "removed"]
        assert [(c["level"], c["sample"]) for c in removed] == [("sample", "S2")]
        assert "by coordinator" in removed[0]["detail"]
    assert count_rows(md_conn, "samples") == {"samples": 4}
    with md_conn.cursor() as cur:
        cur.execute("SELECT record_id FROM metadata_records WHERE removed_at IS NOT NULL")
        assert cur.fetchall() == [("S2",)]
    md_conn.commit()


def test_a_malformed_record_is_quarantined_with_every_reason_and_the_rest_applied(
    metadata_env, md_conn, redcap, capsys
):
    fill(redcap.project)
    redcap.project.put(
        "S5",
        individual_id="PT 9",
        species="",
        tissue="blood",
        sex="f",
        collection_date="31/02/2026",
    )
    result = _sync(capsys, metadata_env, execute=True)
    assert result["counts"]["samples_new"] == 4 and result["counts"]["quarantined"] == 1
    assert result["quarantined"][0]["reasons"] == [
        "individual_id 'PT 9' may only hold letters, digits, . _ -",
        "species is empty",
        "sex 'f' must be female, male or unknown",
        "collection_date '31/02/2026' is not a date (YYYY-MM-DD)",
    ]
    assert count_rows(md_conn, "samples", "metadata_quarantine") == {
        "samples": 4,
        "metadata_quarantine": 1,
    }
    quarantine(Context(), metadata_env.name)
    listed = capsys.readouterr().out
    assert "S5" in listed and "species is empty" in listed
    redcap.project.put(
        "S5",
        individual_id="PT9",
        species="Homo sapiens",
        sex="female",
        collection_date="2026-02-28",
    )
    fixed = _sync(capsys, metadata_env, execute=True)
    assert fixed["released"] == ["S5"]
    assert count_rows(md_conn, "samples", "metadata_quarantine") == {
        "samples": 5,
        "metadata_quarantine": 0,
    }


def test_records_that_disagree_about_their_individual_are_held_back_together(
    metadata_env, md_conn, redcap, capsys
):
    fill(redcap.project)
    redcap.project.put("S2", sex="male")  # S1 says PT1 is female
    result = _sync(capsys, metadata_env, execute=True)
    assert sorted(q["record_id"] for q in result["quarantined"]) == ["S1", "S2"]
    assert "disagree about individual PT1 (sex)" in result["quarantined"][0]["reasons"][0]
    assert count_rows(md_conn, "individuals", "samples") == {"individuals": 1, "samples": 2}


def test_the_token_stays_secret_and_a_refused_token_is_one_line(
    metadata_env, md_conn, redcap, capsys, monkeypatch
):
    fill(redcap.project, 2)
    sync(Context(), metadata_env.name, execute=True)
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", "F" * 32)
    with pytest.raises(Exit) as caught:
        sync(Context(), metadata_env.name)
    assert caught.value.message == (
        "error: REDCap refused the metadata export: You do not have permissions to use the API"
    )
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", "not-a-token")
    with pytest.raises(Exit, match="must be 32 hexadecimal characters") as caught:
        sync(Context(), metadata_env.name)
    assert "not-a-token" not in caught.value.message


def test_a_source_without_a_field_the_schema_requires_is_refused(metadata_env, md_conn, redcap):
    redcap.project.fields = tuple(f for f in redcap.project.fields if f != "tissue")
    with pytest.raises(Exit, match="has no field tissue, which metadata schema v1 requires"):
        sync(Context(), metadata_env.name, execute=True)
    assert _runs(md_conn) == [(True, "failed")]
