"""`inv metadata.sync` as a person runs it: the diff, the merge shown by projects.show, and a
sync killed half way through its transaction leaving the catalog as it was."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from tests.integration.workers.jobrunner import count_rows
from tests.support.metadata_fixtures import fill, settle
from tests.support.redcap import TOKEN

pytestmark = pytest.mark.acceptance
INV = str(Path(sys.executable).with_name("inv"))
TABLES = ("individuals", "samples", "metadata_records", "imports")


def _inv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_a_dry_run_then_execute_shows_the_diff_and_the_merged_metadata(
    metadata_env, md_conn, redcap
):
    fill(redcap.project)
    redcap.project.put(
        "S9",
        individual_id="PT5",
        species="Homo sapiens",
        tissue="blood",
        sex="female",
        tumor_content="140",
    )
    dry = _inv("metadata.sync", "-e", metadata_env.name)
    assert dry.returncode == 0, dry.stderr
    assert "would apply" in dry.stdout and "dry run: nothing changed" in dry.stdout
    assert "sex: — → female" in dry.stdout and "would quarantine" in dry.stdout
    assert count_rows(md_conn, *TABLES) == dict.fromkeys(TABLES, 0)
    applied = _inv("metadata.sync", "-e", metadata_env.name, "--execute")
    assert applied.returncode == 0, applied.stderr
    assert TOKEN not in dry.stdout + dry.stderr + applied.stdout + applied.stderr
    held = _inv("metadata.quarantine", "-e", metadata_env.name)
    assert "S9" in held.stdout and "tumor_content '140' is not a percentage" in held.stdout
    shown = _inv("projects.show", "-e", metadata_env.name, "CRC")
    assert "collection_date=2026-02-01" in shown.stdout and "sex=female" in shown.stdout
    assert "metadata_record" in shown.stdout and "v1" in shown.stdout
    runs = _inv("metadata.runs", "-e", metadata_env.name)
    assert "dry-run" in runs.stdout and "applied" in runs.stdout


def _blocked_sync_backend(conn) -> int | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        row = cur.fetchone()
    return row[0] if row else None


def test_a_sync_killed_half_way_leaves_the_catalog_as_it_was(
    metadata_env, md_conn, redcap, make_env
):
    fill(redcap.project)
    settle()
    blocker = __import__("common.db", fromlist=["connect"]).connect(metadata_env)
    with blocker.cursor() as cur:  # writes to samples wait; reads go on
        cur.execute("LOCK TABLE samples IN EXCLUSIVE MODE")
    sync = subprocess.Popen(
        [INV, "metadata.sync", "-e", metadata_env.name, "--execute"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        backend = None
        while backend is None and time.monotonic() < deadline and sync.poll() is None:
            time.sleep(0.1)
            backend = _blocked_sync_backend(md_conn)
            md_conn.commit()
        assert backend is not None, "the sync never reached its sample inserts"
        with md_conn.cursor() as cur:  # it has written individuals in its transaction
            cur.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND "
                "relation = 'individuals'::regclass",
                (backend,),
            )
            assert cur.fetchone()[0] > 0
        md_conn.commit()
        sync.kill()
        sync.wait(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the server notices the dead client and rolls back
        with md_conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend,))
            gone = cur.fetchone()[0] == 0
        md_conn.commit()
        if gone:
            break
        time.sleep(0.1)
    assert count_rows(md_conn, *TABLES) == dict.fromkeys(TABLES, 0)
    again = _inv("metadata.sync", "-e", metadata_env.name, "--execute", "--json")
    assert again.returncode == 0, again.stderr
    assert count_rows(md_conn, *TABLES) == {
        "individuals": 2,
        "samples": 4,
        "metadata_records": 4,
        "imports": 1,
    }
    with md_conn.cursor() as cur:
        cur.execute("SELECT state, since IS NULL FROM metadata_sync_runs ORDER BY id")
        assert cur.fetchall() == [("abandoned", True), ("applied", True)]
    md_conn.commit()
