"""data.delete: right order, dry run by default, and consistent after a failure at ANY step.

Failures are injected from outside through failpoints (common/failpoints.py): an ordinary
error raised in this process, or the `inv data.delete` process killed outright (SIGKILL: no
except-clause or finally of the runbook runs). The backup taken first is the backups area's
own, taken and verified for real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from common import failpoints
from common.errors import StorageError
from common.failpoints import FailpointError
from common.lake import open_lake
from foreman.jobs import enqueue_job
from ops.db.backups.catalog import find_backup, list_backups, record_verification
from ops.db.backups.scheduled import fresh_verified_backup
from ops.db.backups.settings import backup_settings
from ops.lake.check import check_lake
from ops.runbooks.delete_experiment import DeletionRefused, delete_experiment, manifests_dir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
INV = [sys.executable, "-m", "invoke"]


def _inv(*args, failpoint=None):
    """`inv ARGS…` in a subprocess; with `failpoint`, the process is killed there."""
    variables = dict(os.environ)
    if failpoint:
        variables[failpoints.VARIABLE] = f"{failpoint}=kill"
    return subprocess.run([*INV, *args], cwd=REPO, capture_output=True, text=True, env=variables,
                          timeout=300)  # fmt: skip


def _killed_deleting(env, reference, step):
    """`inv data.delete --execute`, killed at `data.delete.<step>`."""
    killed = _inv("data.delete", "-e", env.name, "--experiment", str(reference), "--execute",
                  failpoint=f"data.delete.{step}")  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, (step, killed.stdout + killed.stderr)


def _count(conn, table, where="true", params=()):
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE {where}", params)
        value = cur.fetchone()[0]
    conn.commit()
    return value


def _world(catalog):
    """Target experiment ERX1 shares its aliquot with ERX2; A1 uses both, A2 only ERX2."""
    target = catalog.experiment("ERX1", aliquot="shared", files=2)
    other = catalog.experiment("ERX2", aliquot="shared", files=1)
    used_both = catalog.analysis([target, other], files=1)
    untouched = catalog.analysis([other], application="other", files=1)
    return target, other, used_both, untouched


def _steps(catalog, target):
    """Every failpoint of the runbook, in order (the lake folders counted by a dry run)."""
    report = delete_experiment(catalog.env, str(target), execute=False)
    assert report.plan.lake_paths
    paths = range(1, len(report.plan.lake_paths) + 1)
    return [
        "backup", "manifest", "rows", *(f"move.{index}" for index in paths),
        "before_commit", "commit", *(f"purge.{index}" for index in paths),
    ]  # fmt: skip


def _assert_deleted_and_clean(catalog, target, used_both, untouched):
    conn, env = catalog.conn, catalog.env
    assert _count(conn, "experiments", "id = %s", (target,)) == 0
    assert _count(conn, "analyses", "id = %s", (used_both,)) == 0
    assert _count(conn, "analyses", "id = %s", (untouched,)) == 1
    assert _count(conn, "aliquots") == 1  # still used by ERX2
    assert check_lake(env, checksums=True).in_sync
    lake = open_lake(env)
    assert not lake.tree_exists(".quarantine") or not any(_quarantined(lake))
    assert list(manifests_dir(env).glob("*.json")) == []


def _quarantined(lake):
    return list(lake.list_area(".quarantine"))


def test_dry_run_lists_everything_and_changes_nothing(catalog):
    _target, _other, used_both, _ = _world(catalog)
    before = {t: _count(catalog.conn, t) for t in ("files", "analyses", "experiments", "aliquots")}
    report = delete_experiment(catalog.env, "ERX1")
    assert not report.executed
    assert report.plan.analyses == [used_both]
    assert report.plan.aliquot_id is None  # shared with ERX2
    assert report.plan.lake_paths == ["raw/ena-PRJ1/ERX1", f"analyses/{used_both}"]
    tables = [table for table, _ in report.plan.rows()]
    assert tables == [
        "analysis_targets",
        "files (computed)",
        "analyses",
        "files (original)",
        "experiments",
    ]
    assert before == {t: _count(catalog.conn, t) for t in before}
    assert check_lake(catalog.env).in_sync


def test_a_lone_experiment_takes_its_aliquot_sample_and_individual(catalog):
    lone = catalog.experiment("ERX9", files=1)
    catalog.experiment("ERX8", files=1)
    report = delete_experiment(catalog.env, str(lone), execute=True)
    assert report.executed and report.plan.individual_id is not None
    assert _count(catalog.conn, "individuals") == 1 and _count(catalog.conn, "samples") == 1
    assert check_lake(catalog.env, checksums=True).in_sync
    backup = find_backup(backup_settings(catalog.env).directory, report.backup)
    assert backup.verified is True and backup.manifest.database == catalog.env.database.name
    assert backup.note == "before deleting ERX9"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["error", "crash"])
def test_a_failure_at_every_step_leaves_db_and_lake_consistent(catalog, mode, monkeypatch):
    target, _, used_both, untouched = _world(catalog)
    steps = _steps(catalog, target)
    committed_steps = {"commit"} | {s for s in steps if s.startswith("purge.")}
    for step in steps:
        # a fresh copy of the world for each step: ERXn accessions are reused per round
        if step != steps[0]:
            target, _other, used_both, untouched = _reset(catalog)
        if mode == "error":
            monkeypatch.setenv(failpoints.VARIABLE, f"data.delete.{step}")
            with pytest.raises(FailpointError, match=rf"data\.delete\.{step}$"):
                delete_experiment(catalog.env, str(target), execute=True)
            monkeypatch.delenv(failpoints.VARIABLE)
        else:
            _killed_deleting(catalog.env, target, step)
        if step in committed_steps:
            assert _count(catalog.conn, "experiments", "id = %s", (target,)) == 0, step
            assert check_lake(catalog.env, checksums=True).in_sync, step
        else:
            assert _count(catalog.conn, "experiments", "id = %s", (target,)) == 1, step
            if mode == "error":  # cleanup ran: folders are back, nothing left to recover
                assert check_lake(catalog.env, checksums=True).in_sync, step
                assert list(manifests_dir(catalog.env).glob("*.json")) == [], step
        # re-running finishes or undoes whatever was interrupted, then completes the deletion
        try:
            delete_experiment(catalog.env, str(target), execute=True)
        except DeletionRefused:
            assert step in committed_steps, step
        _assert_deleted_and_clean(catalog, target, used_both, untouched)


def _reset(catalog):
    """Delete everything and build the world again (the lake's old folders are gone too)."""
    conn = catalog.conn
    with conn.cursor() as cur:
        cur.execute("TRUNCATE analysis_targets, files, analyses, experiments, aliquots, samples,"
                    " individuals, projects, jobs CASCADE")  # fmt: skip
    conn.commit()
    lake = open_lake(catalog.env)
    for info in list(lake.list()):
        lake.delete(info.key)
    catalog.aliquots.clear()
    return _world(catalog)


def test_unfinished_jobs_refuse_the_deletion(catalog):
    target, *_ = _world(catalog)
    enqueue_job(catalog.conn, "process", {"application": "x", "experiment_ids": [target]})
    catalog.conn.commit()
    with pytest.raises(DeletionRefused, match="unfinished jobs"):
        delete_experiment(catalog.env, "ERX1", execute=True)
    assert _count(catalog.conn, "experiments", "id = %s", (target,)) == 1
    assert check_lake(catalog.env).in_sync


def test_a_job_waiting_for_another_refuses_the_deletion(catalog):
    target, *_ = _world(catalog)
    index_job, _ = enqueue_job(catalog.conn, "index", {"index_id": 1})
    enqueue_job(catalog.conn, "process", {"application": "salmon", "experiment_ids": [target]},
                depends_on=index_job)  # fmt: skip
    catalog.conn.commit()
    with pytest.raises(DeletionRefused, match="unfinished jobs"):
        delete_experiment(catalog.env, "ERX1", execute=True)
    assert _count(catalog.conn, "experiments", "id = %s", (target,)) == 1


def test_unknown_experiment_is_one_line_and_changes_nothing(catalog):
    _world(catalog)
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "data.delete", "-e", catalog.env.name,
         "--experiment", "ERX404", "--execute"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip() == "error: unknown experiment 'ERX404': nothing changed"
    assert _count(catalog.conn, "experiments") == 2


def test_a_lake_folder_leading_outside_the_lake_is_refused(make_env, tmp_path):
    from common import db
    from tests.integration.lake.conftest import Catalog

    env = make_env("escape")
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    catalog.experiment("ERX1", files=1)
    lake = open_lake(env)
    folder = lake.root / "raw/ena-PRJ1/ERX1"
    outside = tmp_path / "outside"
    folder.rename(outside)
    folder.symlink_to(outside)
    with pytest.raises(StorageError, match="outside the lake"):
        delete_experiment(env, "ERX1", execute=True)
    assert _count(conn, "experiments") == 1 and (outside / "r0.fastq.gz").exists()
    conn.close()


def test_inv_data_delete_dry_run_prints_rows_and_paths(catalog):
    _world(catalog)
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "data.delete", "-e", catalog.env.name,
         "--experiment", "ERX1"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "raw/ena-PRJ1/ERX1" in result.stdout and "dry run: nothing changed" in result.stdout
    assert _count(catalog.conn, "experiments") == 2


@pytest.mark.slow
def test_a_verified_backup_is_reused_within_the_hour_and_retaken_after(env):
    hour = timedelta(hours=1)
    first = fresh_verified_backup(env, max_age=hour, note="one")
    assert first.verified is True and first.kind == "logical"
    assert fresh_verified_backup(env, max_age=hour, note="two").name == first.name
    # An hour later (as far as the age limit can tell), the first is too old to rely on.
    third = fresh_verified_backup(env, max_age=timedelta(0), note="three")
    assert third.name != first.name and third.verified is True and third.size_bytes > 0
    assert [r.name for r in list_backups(backup_settings(env).directory)][-2:] == [
        first.name, third.name,
    ]  # fmt: skip


def test_a_backup_that_failed_verification_is_never_relied_on(env):
    hour = timedelta(hours=1)
    first = fresh_verified_backup(env, max_age=hour, note="one")
    record_verification(first.path, ok=False, detail="restored to different data", seconds=1)
    second = fresh_verified_backup(env, max_age=hour, note="two")
    assert second.name != first.name and second.verified is True


def test_after_a_crash_lake_check_points_to_data_recover_which_restores(catalog):
    target, *_ = _world(catalog)
    _killed_deleting(catalog.env, target, "before_commit")
    checked = _inv("lake.check", "-e", catalog.env.name)
    assert checked.returncode == 3 and "run inv data.recover" in checked.stderr
    recovered = _inv("data.recover", "-e", catalog.env.name)
    assert recovered.returncode == 0 and "restored .quarantine/" in recovered.stdout
    assert check_lake(catalog.env, checksums=True).in_sync
    assert _count(catalog.conn, "experiments", "id = %s", (target,)) == 1
