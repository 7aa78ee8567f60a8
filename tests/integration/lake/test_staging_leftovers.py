"""Partial downloads nobody will resume are reported by `inv lake.check` and removed by `inv
lake.prune-leftovers` on both backends: a folder lake stages in its `.staging/`, an S3 lake
(on the AWS emulator) in the environment's state folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import db
from common.lake import open_lake
from foreman.jobs import enqueue_job
from tests.support.inv import run_inv

pytestmark = pytest.mark.integration


def test_stale_partials_are_reported_by_check_and_removed_by_prune_leftovers(lake_env):
    env = lake_env
    staging = open_lake(env).staging_dir()
    if env.lake.backend == "s3":
        assert staging == env.state_dir / "s3-staging"
    with db.transaction(env) as conn:
        enqueue_job(conn, "download", {"file_id": 41})  # pending: it may still resume
    resumable = staging / "download-file-41.part"
    stale = [staging / "download-file-42.part", staging / "download-file-42.part.promise"]
    for path in (resumable, *stale):
        path.write_bytes(b"partial")

    check = run_inv("lake.check", "-e", env.name, "--json")
    assert check.returncode == 0, check.stderr  # leftovers are no reason to be out of sync
    reported = json.loads(check.stdout)["leftovers"]
    assert sorted(Path(name).name for name in reported) == sorted(p.name for p in stale)

    dry = run_inv("lake.prune-leftovers", "-e", env.name, "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {"executed": False, "leftovers": reported}
    assert all(path.exists() for path in (resumable, *stale))

    pruned = run_inv("lake.prune-leftovers", "-e", env.name, "--execute", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout) == {"executed": True, "leftovers": reported}
    assert sorted(path.name for path in staging.iterdir()) == [resumable.name]
    again = run_inv("lake.check", "-e", env.name, "--json")
    assert json.loads(again.stdout)["leftovers"] == []
