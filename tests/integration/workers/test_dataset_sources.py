"""Which gene-level results a dataset reads: the newest finished one of each project per
application and platform, on the real schema."""

from __future__ import annotations

import pytest
from psycopg2.extras import Json

from workers.datasets.sources import newest_results

pytestmark = pytest.mark.integration


def _analysis(conn, application: str, metadata: dict, status: str = "FINISHED") -> int:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO analyses (application, application_version, status, run_by, metadata) "
            "VALUES (%s, '1.0.0', %s, 'refinery-bot', %s) RETURNING id",
            (application, status, Json(metadata)),
        )
        return int(cur.fetchone()[0])


def test_the_newest_finished_result_per_application_and_platform_of_each_project(conn) -> None:
    _analysis(conn, "affy", {"project_id": 7, "platform": "GPL1", "samples": ["GSM1"]})
    chip_one = _analysis(conn, "affy", {"project_id": 7, "platform": "GPL1", "samples": ["GSM1"]})
    chip_two = _analysis(conn, "affy", {"project_id": 7, "platform": "GPL2", "samples": ["GSM2"]})
    _analysis(conn, "affy", {"project_id": 7, "platform": "GPL2"}, status="FAILED")
    summary = _analysis(conn, "summarise", {"project_id": 7, "samples": {"R1": 1}})
    _analysis(conn, "geo_table", {"project_id": 7, "samples": ["GSM3"]})  # no declared result
    _analysis(conn, "summarise", {"project_id": 8, "samples": {"R2": 2}})
    conn.commit()

    results = newest_results(conn, [7])
    assert list(results) == [7]
    assert [(r["analysis_id"], r["application"], r["platform"]) for r in results[7]] == [
        (summary, "summarise", ""),
        (chip_two, "affy", "GPL2"),
        (chip_one, "affy", "GPL1"),
    ]  # newest first
