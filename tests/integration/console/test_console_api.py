"""`inv console` over real HTTP: tokens and roles, the JSON API behind the pages, job filters,
search with boosts, facets and an index that follows the catalog, and no secret anywhere."""

from __future__ import annotations

import pytest

from common import db
from tests.integration.console.conftest import add_sample
from tests.integration.metrics.conftest import add_job

pytestmark = pytest.mark.integration


def test_without_a_valid_token_every_page_and_api_is_refused(env, serve_console, people):
    console = serve_console(env)
    page = console.get("/jobs")
    assert page.status_code == 401 and "Sign in" in page.text
    api = console.get("/api/health")
    assert api.status_code == 401 and "API token" in api.json()["error"]
    assert console.get("/api/jobs", token="rfy_not-a-real-token").status_code == 401
    _, token = people("analyst")
    assert console.get("/api/jobs", token=token).status_code == 200


def test_an_analyst_reads_jobs_but_cannot_retry_or_cancel_and_an_engineer_can(
    env, conn, serve_console, people
):
    failed = add_job(conn, state="failed", attempt=3, reason="HTTP 503 from /a/b/c.fastq")
    add_job(conn, state="failed", attempt=3, reason="HTTP 503 from /d/e/f.fastq")
    add_job(conn, state="failed", attempt=3, reason="disk full")
    pending = add_job(conn, kind="download", queue="spot")
    console = serve_console(env)
    _, analyst = people("analyst")
    _, engineer = people("engineer")

    listed = console.get("/api/jobs?state=failed&reason=HTTP <n> from <path>", token=analyst)
    assert listed.status_code == 200
    assert sorted(job["failure_reason"] for job in listed.json()["jobs"]) == [
        "HTTP 503 from /a/b/c.fastq", "HTTP 503 from /d/e/f.fastq",
    ]  # fmt: skip
    assert "disk full" in listed.json()["choices"]["reason"]
    detail = console.get(f"/api/jobs/{failed}", token=analyst).json()
    assert detail["job"]["reason_group"] == "HTTP <n> from <path>"

    refused = console.post(f"/api/jobs/{failed}/retry", token=analyst)
    assert refused.status_code == 403 and "analysts may look at jobs" in refused.json()["error"]
    assert console.post(f"/api/jobs/{pending}/cancel", token=analyst).status_code == 403
    with conn.cursor() as cur:
        cur.execute("SELECT state FROM jobs WHERE id IN (%s, %s) ORDER BY id", (failed, pending))
        assert [row[0] for row in cur.fetchall()] == ["failed", "pending"]
    conn.commit()

    assert console.post(f"/api/jobs/{failed}/retry", token=engineer).json()["state"] == "pending"
    assert console.post(f"/api/jobs/{pending}/cancel", token=engineer).status_code == 200
    again = console.post(f"/api/jobs/{pending}/cancel", token=engineer)
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]
    with conn.cursor() as cur:
        cur.execute("SELECT state FROM jobs WHERE id IN (%s, %s) ORDER BY id", (failed, pending))
        assert [row[0] for row in cur.fetchall()] == ["pending", "cancelled"]


def test_search_ranks_by_field_counts_facets_and_follows_changes_at_once(
    env, conn, serve_console, people
):
    by_name = add_sample(conn, "PRJA", "P1", "melanoma-7", tissue="skin")
    by_tissue = add_sample(conn, "PRJA", "P2", "S2", tissue="melanoma")
    by_metadata = add_sample(conn, "PRJB", "P3", "S3", tissue="blood",
                             metadata={"diagnosis": "metastatic melanoma"})  # fmt: skip
    add_sample(conn, "PRJB", "P4", "S4", tissue="liver", experiment="ERX0004")
    console = serve_console(env)
    _, token = people("analyst")

    found = console.get("/api/search?q=melanoma", token=token).json()["search"]
    samples = [hit["entity_id"] for hit in found["hits"] if hit["entity"] == "sample"]
    assert samples == [by_name, by_tissue, by_metadata]  # name > tissue > metadata
    assert {v["value"]: v["hits"] for v in found["facets"]["project"]} == {"PRJA": 2, "PRJB": 1}
    narrowed = console.get("/api/search?q=melanoma&project=PRJB", token=token).json()["search"]
    assert [hit["entity_id"] for hit in narrowed["hits"]] == [by_metadata]
    experiment = console.get("/api/search?q=liver&entity=experiment", token=token).json()
    assert [hit["title"] for hit in experiment["search"]["hits"]] == ["ERX0004"]

    with conn.cursor() as cur:  # a change is searchable as soon as it commits
        cur.execute("UPDATE samples SET tissue = 'pancreas' WHERE id = %s", (by_tissue,))
    conn.commit()
    moved = console.get("/api/search?q=pancreas", token=token).json()["search"]
    assert [hit["entity_id"] for hit in moved["hits"]] == [by_tissue]
    bad = console.get("/api/search?q=x&colour=red", token=token)
    assert bad.status_code == 200  # unknown query parameters are not facets: ignored
    too_long = console.get("/api/search?q=" + "x" * 300, token=token)
    assert too_long.status_code == 400


def test_no_page_or_response_carries_a_secret(env, conn, serve_console, people):
    sample = add_sample(conn, "PRJS", "P1", "S1", tissue="blood", experiment="ERX0100",
                        metadata={"api_token": "should-not-show", "site": "Oslo"})  # fmt: skip
    job = add_job(conn, state="failed", attempt=3, reason="boom")
    console = serve_console(env)
    _, analyst = people("analyst")
    _, admin = people("admin")
    password = db.connection_params(env)["password"]
    paths = ["/jobs", f"/jobs/{job}", "/catalog", f"/catalog/samples/{sample}", "/results",
             "/health", "/search?q=blood"]  # fmt: skip
    for path in paths:
        for prefix in ("", "/api"):
            response = console.get(prefix + path, token=analyst)
            assert response.status_code == 200, (prefix + path, response.text[:300])
            for secret in (password, analyst, admin, "should-not-show"):
                assert secret not in response.text, f"{prefix + path} shows a secret"
            assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "Oslo" in console.get(f"/catalog/samples/{sample}", token=analyst).text
