"""A job's handler is decided once, when it is queued, and stored on the job (migration 0050)."""

from __future__ import annotations

import pytest
from psycopg2.extras import Json

from foreman.dispatch import settle_errored_jobs
from foreman.jobs import enqueue_job, get_job
from foreman.migrations import all_migrations

pytestmark = pytest.mark.integration

PAYLOADS = [
    ("survey", {"source": "ena", "accession": "SRR1"}, "ena"),
    ("download", {"file_id": 1}, "download"),
    ("index", {"index_id": 1}, "salmon"),
    ("process", {"application": "fastq_qc", "experiment_ids": [1]}, "fastq_qc"),
    ("process", {"experiment_ids": [1]}, ""),  # names no application: no handler will take it
]


def test_every_kind_of_job_gets_its_handler_as_it_is_queued(conn):
    for kind, payload, handler in PAYLOADS:
        job_id, _ = enqueue_job(conn, kind, payload)
        assert get_job(conn, job_id).handler == handler, kind
    conn.commit()


def test_a_follow_up_queued_in_sql_gets_its_handler_too(env, conn):
    follow_up = {"kind": "process", "payload": {"application": "summarise", "project_id": 4},
                 "dedupe_key": "summary-4"}  # fmt: skip
    job_id, _ = enqueue_job(conn, "process", {"application": "salmon", "on_failure": follow_up})
    with conn.cursor() as cur:
        cur.execute("UPDATE jobs SET state = 'errored', permanent = true WHERE id = %s", (job_id,))
    conn.commit()
    settle_errored_jobs(conn, env)
    with conn.cursor() as cur:
        cur.execute("SELECT handler FROM jobs WHERE parent_job_id = %s", (job_id,))
        assert cur.fetchall() == [("summarise",)]
    conn.commit()


def test_the_migration_gives_existing_jobs_their_handler(conn):
    (migration,) = [m for m in all_migrations() if m.name == "0050_job_handler"]
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE jobs DROP COLUMN handler")  # the table as it was before
        for kind, payload, _ in PAYLOADS:
            cur.execute("INSERT INTO jobs (kind, payload) VALUES (%s, %s)", (kind, Json(payload)))
        cur.execute(migration.sql)
        cur.execute("SELECT handler FROM jobs ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == [handler for _, _, handler in PAYLOADS]
    conn.rollback()
