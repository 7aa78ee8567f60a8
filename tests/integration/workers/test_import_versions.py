"""Every import records the schema version it followed; older imports keep reading as theirs."""

from __future__ import annotations

import csv

import pytest

from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import enqueue_and_run
from workers.surveyors.delivery import read_sample_sheet

pytestmark = pytest.mark.integration


def _imports(conn):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.accession, i.kind, i.schema_version, i.origin, "
            "(SELECT count(*) FROM experiments e WHERE e.import_id = i.id), "
            "(SELECT count(*) FROM samples s WHERE s.import_id = i.id) "
            "FROM imports i JOIN projects p ON p.id = i.project_id ORDER BY i.id"
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def _as_version_2(folder, project):
    """Rewrite the demo sheet as a version 2 sheet of another project."""
    sheet = folder / "samplesheet.csv"
    with open(sheet, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows, start=1):
        row.update(project=project, collection_date=f"2026-01-0{number}", sex="unknown")
    with open(sheet, "w", newline="") as handle:
        handle.write("# schema_version: 2\n")
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_v1_import_is_recorded_and_still_reads_after_a_v2_import(env, conn, tmp_path):
    old = write_demo_delivery(tmp_path / "old", samples=2, reads=10)
    enqueue_and_run(
        env,
        conn,
        "survey",
        {"source": "delivery", "location": str(old.folder)},
        tmp_path / "scratch",
    )
    new = write_demo_delivery(tmp_path / "new", samples=2, reads=10)
    _as_version_2(new.folder, "NEWER")
    enqueue_and_run(
        env,
        conn,
        "survey",
        {"source": "delivery", "location": str(new.folder)},
        tmp_path / "scratch",
    )
    assert _imports(conn) == [
        ("DEMO", "sample_sheet", 1, str(old.folder.resolve()), 2, 2),
        ("NEWER", "sample_sheet", 2, str(new.folder.resolve()), 2, 2),
    ]
    with conn.cursor() as cur:
        cur.execute(
            "SELECT s.metadata FROM samples s JOIN imports i ON i.id = s.import_id "
            "WHERE i.schema_version = 2 ORDER BY s.name LIMIT 1"
        )
        assert cur.fetchone()[0] == {"collection_date": "2026-01-01", "sex": "unknown"}
    conn.commit()
    # The v1 sheet still validates as v1, and surveying it again adds no import and no rows.
    assert {run.schema for run in read_sample_sheet(old.folder)} == {("sample_sheet", 1)}
    again = enqueue_and_run(
        env,
        conn,
        "survey",
        {"source": "delivery", "location": str(old.folder)},
        tmp_path / "scratch",
    )
    assert set(again["created"].values()) == {0}
    assert len(_imports(conn)) == 2
