"""The deploy pipeline's logic: lock contention, interrupts, resume, smoke failure, rollback.

Real DynamoDB (moto) for the lock and audit log, real PostgreSQL, the real foreman restarted
over a real sshd. The images, Terraform and Batch steps are RECORDING FAKES here (see
tests/support/deploy.py) so each case costs seconds; a successful deploy, a re-run, a dry run,
the destructive guard and a rollback on the real steps are proven in
tests/acceptance/deploy/test_deploy_end_to_end.py. Failures are injected from outside, through
the failpoint before each step (common/failpoints.py) or by holding a lock the step needs.
"""

from __future__ import annotations

import threading
import time

import pytest

from common import db, failpoints
from common.db import connect
from foreman.migrations import _LOCK_KEY as MIGRATIONS_LOCK_KEY
from ops.deploy.audit import AuditLog
from ops.deploy.errors import DeployLockedError, VersionRuleError
from ops.deploy.lock import current_holder, read_lock
from ops.deploy.pipeline import StepFailedError, run_deploy, run_rollback
from ops.deploy.settings import lock_table

pytestmark = pytest.mark.integration
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_a_concurrent_deploy_is_refused_naming_the_one_in_progress(deploy_env, fake_steps):
    # The first deploy waits in its migrate step: this test holds the migrations' lock.
    holder = db.connect(deploy_env, autocommit=True)
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (MIGRATIONS_LOCK_KEY,))
    outcome: list = []

    def first_deploy() -> None:
        outcome.append(run_deploy(deploy_env, version="v1.0.0-dev", git_sha=SHA))

    thread = threading.Thread(target=first_deploy)
    thread.start()
    try:
        assert _waits_for_an_advisory_lock(holder, timeout=60)
        with pytest.raises(DeployLockedError) as refused:
            run_deploy(deploy_env, version="v1.0.1-dev", git_sha=SHA)
    finally:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (MIGRATIONS_LOCK_KEY,))
        holder.close()
        thread.join(60)
    assert f"being deployed by {current_holder()}" in str(refused.value)
    assert "deploy v1.0.0-dev" in str(refused.value)
    assert outcome[0].record.outcome == "succeeded"
    history = AuditLog(lock_table(deploy_env)).history()
    assert [record.version for record in history] == ["v1.0.0-dev"]
    # The smoke step ran the environment's first lake check and recorded it (the figure the
    # lake-out-of-sync alarm reads from the first deploy on).
    smoke = history[0].facts["smoke_check"]
    assert smoke["lake_in_sync"] is True and smoke["lake_check_recorded"] is True
    conn = connect(deploy_env)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM lake_checks")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_a_version_for_the_wrong_environment_is_refused_before_anything_runs(
    deploy_env, fake_steps
):
    with pytest.raises(VersionRuleError, match="deploys only to prod"):
        run_deploy(deploy_env, version="v1.0.0", git_sha=SHA)
    assert fake_steps.calls == []
    assert AuditLog(lock_table(deploy_env)).history() == []


def test_an_interrupted_deploy_records_the_failure_and_a_rerun_completes(
    deploy_env, fake_steps, monkeypatch
):
    monkeypatch.setenv(failpoints.VARIABLE, "deploy.step.restart_foreman")
    with pytest.raises(StepFailedError, match="failed at step restart_foreman"):
        run_deploy(deploy_env, version="v1.1.0-dev", git_sha=SHA)
    monkeypatch.delenv(failpoints.VARIABLE)
    audit = AuditLog(lock_table(deploy_env))
    [failed] = audit.history()
    assert failed.outcome == "failed"
    assert failed.steps_done == ["images", "infrastructure", "job_definitions", "migrate"]
    assert "restart_foreman" in failed.error
    assert "injected at failpoint deploy.step.restart_foreman" in failed.error
    assert read_lock(lock_table(deploy_env)) is None  # released in finally

    result = run_deploy(deploy_env, version="v1.1.0-dev", git_sha=SHA)
    assert result.record.outcome == "succeeded"
    assert result.record.resumed_from == failed.deploy_id
    assert result.reused_steps == ["images"]  # pushed images are reused, the rest redone
    assert fake_steps.names().count("images") == 1
    assert fake_steps.names().count("infrastructure") == 2
    assert [r.outcome for r in audit.history()] == ["succeeded", "failed"]


def test_an_interrupt_is_recorded_as_interrupted_and_releases_the_lock(
    deploy_env, fake_steps, monkeypatch
):
    monkeypatch.setenv(failpoints.VARIABLE, "deploy.step.migrate=interrupt")
    with pytest.raises(KeyboardInterrupt):
        run_deploy(deploy_env, version="v1.2.0-dev", git_sha=SHA)
    settings = lock_table(deploy_env)
    [record] = AuditLog(settings).history()
    assert record.outcome == "interrupted" and record.finished_at
    assert record.steps_done == ["images", "infrastructure", "job_definitions"]
    assert read_lock(settings) is None


def test_smoke_check_fails_clearly_when_no_heartbeat_advances(make_deploy_env, fake_steps):
    # The restart "succeeds" but starts nothing: no foreman ever beats.
    env = make_deploy_env(smoke_timeout_seconds=2, restart_command="true")
    with pytest.raises(
        StepFailedError, match="smoke_check: smoke check failed: no foreman heartbeat"
    ):
        run_deploy(env, version="v1.0.0-dev", git_sha=SHA)
    [record] = AuditLog(lock_table(env)).history()
    assert record.outcome == "failed" and "no heartbeat at all" in record.error


@pytest.mark.slow
def test_rollback_after_a_failed_deploy_returns_to_the_last_successful_one(
    deploy_env, fake_steps, monkeypatch
):
    run_deploy(deploy_env, version="v1.0.0-dev", git_sha=SHA)
    run_deploy(deploy_env, version="v1.1.0-dev", git_sha=SHA)
    monkeypatch.setenv(failpoints.VARIABLE, "deploy.step.smoke_check")
    with pytest.raises(StepFailedError):
        run_deploy(deploy_env, version="v1.2.0-dev", git_sha=SHA)
    monkeypatch.delenv(failpoints.VARIABLE)
    record = run_rollback(deploy_env).record
    assert (record.version, record.rolled_back_from) == ("v1.1.0-dev", "v1.2.0-dev")
    assert record.facts["smoke_check"]["foreman_version"] == "v1.1.0-dev"


def test_rollback_without_an_earlier_version_is_refused(deploy_env, fake_steps):
    run_deploy(deploy_env, version="v1.0.0-dev", git_sha=SHA)
    with pytest.raises(Exception, match="no earlier successful version"):
        run_rollback(deploy_env)


def _waits_for_an_advisory_lock(conn, *, timeout: float) -> bool:
    """True once another session of this database waits for an advisory lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            if cur.fetchone()[0]:
                return True
        time.sleep(0.1)
    return False
