"""A restore to an older backup, then new work: no id, lake path or log is ever reused.

Real processes throughout: a foreman with local worker processes does the work, `inv db.backup`
and `inv db.restore` run as commands, and `inv lake.check` reports what the restore set aside.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.lake import open_lake
from foreman.executors.local import worker_log_dir
from ops.local.demo_data import write_demo_delivery
from tests.support.foreman import FAST_FOREMAN, fetch, start_foreman, wait_until
from tests.support.services import stop_process

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[3]
INV = str(Path(sys.executable).with_name("inv"))


def inv(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [INV, *args], cwd=REPO, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == expect, f"inv {' '.join(args)}: {result.stderr}"
    return result


def _work_through(env, folder: Path, log_dir: Path, analyses: int) -> None:
    """Survey a delivery with a real foreman and its workers until every job has ended and
    the catalog holds `analyses` analyses."""
    inv("jobs.survey", "-e", env.name, str(folder))
    done_sql = (
        "SELECT (SELECT count(*) FROM jobs WHERE state <> 'succeeded'), "
        "(SELECT count(*) FROM analyses)"
    )
    foreman = start_foreman(env, log_dir)
    try:
        wait_until(
            lambda: fetch(env, done_sql)[0] == (0, analyses),
            timeout=180,
            what=f"every job of {folder.name} succeeded",
        )
    finally:
        stop_process(foreman)


def _highest(env, table: str) -> int:
    return fetch(env, f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]


def _digests(root: Path, names: list[str]) -> dict[str, str]:
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in names}


@pytest.mark.slow
def test_work_after_a_restore_never_reuses_ids_lake_paths_or_logs(make_env, tmp_path):
    env = make_env(
        "rw",
        executor={"kind": "local", "concurrency": 2},
        foreman={**FAST_FOREMAN, "stale_after_seconds": 60},
        pipeline={"application": "fastq_qc"},
    )
    lake = open_lake(env)
    logs = worker_log_dir(env)
    first = write_demo_delivery(tmp_path / "first", samples=2, reads=40).folder
    _work_through(env, first, tmp_path, analyses=2)
    inv("db.backup", "-e", env.name, "--note", "before the second delivery")
    backed_up_files = _highest(env, "files")

    # Work the backup does not know about: its analyses, raw files and job logs.
    second = tmp_path / "second"
    write_demo_delivery(second, samples=2, reads=60)
    sheet = second / "samplesheet.csv"
    sheet.write_text(sheet.read_text().replace("DEMO", "LATER"))
    _work_through(env, second, tmp_path, analyses=4)
    later_analyses = [row[0] for row in fetch(env, "SELECT id FROM analyses ORDER BY id")[2:]]
    later_keys = sorted(
        key for (key,) in fetch(env, "SELECT lake_key FROM files WHERE id > %s", (backed_up_files,))
    )
    assert len(later_keys) == 6 and any(key.startswith("analyses/") for key in later_keys)
    later_objects = _digests(lake.root, later_keys)
    max_job = _highest(env, "jobs")
    old_logs = _digests(logs, sorted(path.name for path in logs.iterdir()))

    restored = json.loads(inv("db.restore", "-e", env.name, "latest", "--execute", "--json").stdout)
    assert "from after the backup kept in .quarantine/after-restore-" in restored["after_restore"]
    assert fetch(env, "SELECT count(*) FROM analyses") == [(2,)]
    restored_jobs = _highest(env, "jobs")
    (quarantine,) = (lake.root / ".quarantine").glob("after-restore-*")
    assert _digests(quarantine, later_keys) == later_objects  # set aside intact
    assert not any((lake.root / key).exists() for key in later_keys)

    third = tmp_path / "third"
    write_demo_delivery(third, samples=2, reads=80)
    sheet = third / "samplesheet.csv"
    sheet.write_text(sheet.read_text().replace("DEMO", "NEWER"))
    _work_through(env, third, tmp_path, analyses=4)
    new_analyses = [row[0] for row in fetch(env, "SELECT id FROM analyses ORDER BY id")[2:]]
    assert min(new_analyses) > max(later_analyses)  # no analysis id issued twice
    new_jobs = fetch(env, "SELECT min(id) FROM jobs WHERE id > %s", (restored_jobs,))
    assert new_jobs[0][0] > max_job  # no job id issued twice
    new_keys = [key for (key,) in fetch(env, "SELECT lake_key FROM files WHERE kind = 'computed'")]
    assert not set(new_keys) & set(later_keys)
    assert _digests(quarantine, later_keys) == later_objects  # still intact after new work
    assert _digests(logs, sorted(old_logs)) == old_logs  # no log written over or appended to

    check = json.loads(inv("lake.check", "-e", env.name, "--json", expect=3).stdout)
    assert sorted(d["key"] for d in check["differences"]) == later_keys
    assert {d["kind"] for d in check["differences"]} == {"after-restore"}
    assert all(d["actual"].startswith(".quarantine/after-restore-") for d in check["differences"])
