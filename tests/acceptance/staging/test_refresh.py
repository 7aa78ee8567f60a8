"""`inv staging.refresh --from prod` on real PostgreSQL: two environments stand for prod and
staging (one database each on the session's embedded cluster), the refresh runs through `inv`
in a subprocess, its smoke job through the real foreman and a real worker process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import db
from common.errors import ExitCode
from ops.staging.checks import APPENDED_BY_WRITES
from ops.staging.report import rehearsal_reports

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[3]
INV = str(Path(sys.executable).with_name("inv"))
PEOPLE = ("Ada Lovelace", "Grace Hopper", "Rosalind Franklin")
MARKER = "STAGING-ONLY"


def inv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, *args], cwd=REPO, capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def rows(env, statement: str, params: tuple = ()) -> list[tuple]:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def fill_production(env) -> None:
    """Two projects whose individuals share names (one person, two studies), samples down to
    stored files, an analysis run by a person, a finished and an unfinished process job."""
    with db.transaction(env) as conn, conn.cursor() as cur:
        experiments = []
        for project in ("PRJEB1", "PRJEB2"):
            cur.execute("INSERT INTO projects (source, accession, title) VALUES ('ena', %s, %s) "
                        "RETURNING id", (project, f"study {project}"))  # fmt: skip
            project_id = cur.fetchone()[0]
            for number, person in enumerate(PEOPLE):
                cur.execute("INSERT INTO individuals (project_id, name) VALUES (%s, %s) "
                            "RETURNING id", (project_id, person))  # fmt: skip
                individual = cur.fetchone()[0]
                cur.execute("INSERT INTO samples (individual_id, name) VALUES (%s, 'blood') "
                            "RETURNING id", (individual,))  # fmt: skip
                cur.execute("INSERT INTO aliquots (sample_id, name) VALUES (%s, 'a1') "
                            "RETURNING id", (cur.fetchone()[0],))  # fmt: skip
                accession = f"ERR{project[-1]}{number:04d}"
                cur.execute("INSERT INTO experiments (aliquot_id, accession) VALUES (%s, %s) "
                            "RETURNING id", (cur.fetchone()[0], accession))  # fmt: skip
                experiment = cur.fetchone()[0]
                experiments.append(experiment)
                cur.execute(
                    "INSERT INTO files (kind, experiment_id, name, lake_key, size_bytes, sha256,"
                    " stored_at) VALUES ('original', %s, 'r1.fastq.gz', %s, 10, %s, now())",
                    (experiment, f"raw/ena-{project}/{accession}/r1.fastq.gz", "0" * 64),
                )
        cur.execute("INSERT INTO analyses (application, application_version, run_by) "
                    "VALUES ('no_op', '1.0.0', 'grace.hopper') RETURNING id")  # fmt: skip
        cur.execute("INSERT INTO analysis_targets VALUES (%s, %s)",
                    (cur.fetchone()[0], experiments[0]))  # fmt: skip
        payload = json.dumps({"application": "no_op", "experiment_ids": [experiments[0]],
                              "run_by": "grace.hopper"})  # fmt: skip
        cur.execute("INSERT INTO jobs (kind, state, payload) VALUES ('process', 'succeeded', %s),"
                    " ('process', 'pending', %s)", (payload, payload))  # fmt: skip


@pytest.fixture
def prod_and_staging(make_env):
    prod = make_env("prod")
    staging = make_env("staging", refresh={"smoke_timeout_seconds": 120})
    # Environment names are the session's: start without an earlier test's backups or reports.
    shutil.rmtree(prod.state_dir / "backups", ignore_errors=True)
    shutil.rmtree(staging.state_dir / "rehearsals", ignore_errors=True)
    fill_production(prod)
    with db.transaction(staging) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession) VALUES ('local', %s)", (MARKER,))
    return prod, staging


def _counts(env, tables) -> dict[str, int]:
    return {table: rows(env, f"SELECT count(*) FROM {table}")[0][0] for table in tables}


CATALOG = ("projects", "individuals", "samples", "aliquots", "experiments")


@pytest.mark.slow
def test_refresh_anonymises_keeps_joins_and_counts_smoke_tests_and_swaps(prod_and_staging):
    prod, staging = prod_and_staging
    prod_counts = _counts(prod, (*CATALOG, "files", "analyses", "jobs"))
    dry = inv("staging.refresh", "--from", "prod", "-e", "staging")
    assert dry.returncode == 0 and "dry run" in dry.stdout, dry.stderr
    assert rows(staging, "SELECT accession FROM projects") == [(MARKER,)]

    result = inv("staging.refresh", "--from", "prod", "-e", "staging", "--execute", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outcome"] == "succeeded" and report["source_backup"]["how"] == "taken"
    assert [step["name"] for step in report["steps"]] == [
        "source_backup", "restore", "anonymise", "foreign_keys", "row_counts", "migrations",
        "copied_jobs", "smoke", "swap",
    ]  # fmt: skip
    assert Path(report["path"]).parent == staging.state_dir / "rehearsals"
    assert json.loads(Path(report["path"]).read_text())["outcome"] == "succeeded"

    # Staging now holds the copy: production's catalog, not staging's own row.
    assert rows(staging, "SELECT count(*) FROM projects WHERE accession = %s", (MARKER,)) == [(0,)]
    assert _counts(staging, CATALOG) == {table: prod_counts[table] for table in CATALOG}
    counted = report["checks"]["row_counts"]
    assert all(
        c["actual"] == c["manifest"] for t, c in counted.items() if t not in APPENDED_BY_WRITES
    )
    # Anonymising rewrote personal columns, so the search index was told of those rows.
    changes = counted["public.search_changes"]
    assert changes["actual"] > changes["manifest"]
    assert report["checks"]["foreign_keys"]["violations"] == []
    assert report["checks"]["foreign_keys"]["checked"] >= 8

    # Personal columns changed; one person keeps one pseudonym across projects and tables.
    names = rows(
        staging,
        "SELECT p.accession, i.name FROM individuals i "
        "JOIN projects p ON p.id = i.project_id ORDER BY p.accession, i.id",
    )
    assert len(names) == 6 and all(name.startswith("anon-") for _, name in names)
    assert not {name for _, name in names} & set(PEOPLE)
    first, second = [n for p, n in names if p == "PRJEB1"], [n for p, n in names if p == "PRJEB2"]
    assert first == second and len(set(first)) == 3
    [(run_by,)] = rows(staging, "SELECT run_by FROM analyses WHERE application_version = '1.0.0' "
                                "AND id = (SELECT min(id) FROM analyses)")  # fmt: skip
    assert run_by.startswith("anon-")
    same_person = rows(staging, "SELECT count(*) FROM jobs j JOIN analyses a "
                                "ON a.run_by = j.payload->>'run_by' WHERE a.id = "
                                "(SELECT min(id) FROM analyses)")  # fmt: skip
    assert same_person == [(2,)]
    # Joins intact: every experiment still reaches its project through the catalog's keys.
    chain = rows(
        staging,
        "SELECT count(*) FROM experiments e JOIN aliquots a ON a.id = e.aliquot_id "
        "JOIN samples s ON s.id = a.sample_id JOIN individuals i ON i.id = s.individual_id "
        "JOIN projects p ON p.id = i.project_id",
    )
    assert chain == [(prod_counts["experiments"],)]
    # Production itself is untouched.
    assert sorted(n for (n,) in rows(prod, "SELECT DISTINCT name FROM individuals")) == sorted(
        PEOPLE
    )

    # The smoke job ran through the foreman and a worker, on the copy that is now staging.
    smoke = report["checks"]["smoke"]
    assert smoke["state"] == "succeeded"
    assert rows(staging, "SELECT state, payload->>'run_by' FROM jobs WHERE id = %s",
                (smoke["job_id"],)) == [("succeeded", "staging-refresh")]  # fmt: skip
    assert rows(staging, "SELECT status FROM analyses WHERE id = %s",
                (smoke["analysis_id"],)) == [("FINISHED",)]  # fmt: skip
    # Production's unfinished job was cancelled in the copy, not run in staging.
    assert report["checks"]["copied_jobs_cancelled"] == 1
    assert rows(staging, "SELECT count(*) FROM jobs WHERE failure_reason LIKE 'copied from%%'") \
        == [(1,)]  # fmt: skip
    assert rows(prod, "SELECT count(*) FROM jobs WHERE state = 'pending'") == [(1,)]

    # A second refresh reuses the verified backup; the rehearsals are listed.
    again = inv("staging.refresh", "--from", "prod", "-e", "staging", "--execute", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["source_backup"]["how"] == "reused"
    listing = json.loads(inv("staging.rehearsals", "-e", "staging", "--json").stdout)
    assert [r["outcome"] for r in listing] == ["succeeded", "succeeded"]


def _copies(env) -> list[str]:
    prefix = f"{env.database.name}_refresh_"
    found = rows(env, "SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
                 (len(prefix), prefix))  # fmt: skip
    return [name for (name,) in found]


@pytest.mark.slow
def test_a_refresh_killed_half_way_leaves_staging_as_it_was(prod_and_staging):
    prod, staging = prod_and_staging
    before = rows(staging, "SELECT * FROM projects ORDER BY id")
    process = subprocess.Popen(
        [INV, "staging.refresh", "--from", "prod", "-e", "staging", "--execute"],
        cwd=REPO, start_new_session=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    killed_after = None
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and process.poll() is None:
            running = [r for r in rehearsal_reports(staging) if r["outcome"] == "running"]
            done = [step["name"] for step in running[-1]["steps"]] if running else []
            if "restore" in done:  # the copy exists beside the live database
                os.killpg(process.pid, signal.SIGKILL)
                killed_after = done[-1]
                break
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    assert killed_after is not None, "the refresh finished before it could be killed"
    assert killed_after != "swap"
    assert rows(staging, "SELECT * FROM projects ORDER BY id") == before
    assert len(_copies(staging)) == 1  # what the killed refresh left beside the live database
    [killed] = rehearsal_reports(staging)
    assert killed["outcome"] == "running"  # never green

    # A production deploy that requires a rehearsal is refused: the only one was killed.
    # (Also shown: the refusal comes before anything else, dry run included.)
    refused = _deploy_prod(prod)
    assert refused.returncode == ExitCode.REFUSED, refused.stderr
    assert "requires a green rehearsal on staging" in refused.stderr
    assert f"{killed['id']}) is running" in refused.stderr

    # The next refresh drops the abandoned copy and succeeds; then the deploy gets past it.
    result = inv("staging.refresh", "--from", "prod", "-e", "staging", "--execute")
    assert result.returncode == 0, result.stderr
    assert _copies(staging) == []
    assert rows(staging, "SELECT count(*) FROM projects WHERE accession = %s", (MARKER,)) == [(0,)]
    allowed = _deploy_prod(prod)
    assert allowed.returncode == 0, allowed.stderr
    assert "dry run" in allowed.stdout


def _deploy_prod(prod) -> subprocess.CompletedProcess:
    """`inv deploy -e prod --dry-run` with `[deploy] require_rehearsal = true`."""
    text = prod.path.read_text()
    if "[deploy]" not in text:
        prod.path.write_text(text + '\n[deploy]\nlock_table = "locks"\nrequire_rehearsal = true\n')
    return inv("deploy", "-e", "prod", "-v", "v1.0.0", "--dry-run")
