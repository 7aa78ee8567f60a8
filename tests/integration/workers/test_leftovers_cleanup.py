"""What killed workers leave behind is reported by lake.check and removed as workers start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import db
from common.lake import open_lake
from foreman.jobs import enqueue_job
from workers.cleanup import remove_dead_scratch_folders, remove_dead_workers_leftovers

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(10)
    return process.pid


def test_scratch_folders_of_dead_workers_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f"refinery-job-7-p{_dead_pid()}-abc"
    live = tmp_path / f"refinery-job-8-p{os.getpid()}-def"
    other = tmp_path / "refinery-job-9-legacy"  # no owner in its name, and young: kept
    for folder in (dead, live, other):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "reads.fastq").write_bytes(b"@r\nA\n+\nI\n")
    assert remove_dead_scratch_folders(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and other.exists()


def test_stale_partial_downloads_are_reported_then_removed_and_resumable_ones_kept(make_env):
    env = make_env("lo")
    lake = open_lake(env)
    staging = lake.staging_dir()
    with db.transaction(env) as conn:
        enqueue_job(conn, "download", {"file_id": 41})  # pending: may still resume its partial
    resumable = staging / "download-file-41.part"
    stale = staging / "download-file-42.part"  # no job will ever come back for it
    stale_note = staging / "download-file-42.part.promise"
    dead_copy = staging / f"reads.fastq.{_dead_pid()}.copy"
    for path in (resumable, stale, stale_note, dead_copy):
        path.write_bytes(b"partial")
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "lake.check", "-e", env.name, "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr  # leftovers are reported, not "out of sync"
    report = json.loads(result.stdout)
    assert sorted(report["leftovers"]) == sorted(
        f".staging/{path.name}" for path in (stale, stale_note, dead_copy)
    )
    remove_dead_workers_leftovers(env, lake)  # what every worker does as it starts
    assert sorted(path.name for path in staging.iterdir()) == [resumable.name]
