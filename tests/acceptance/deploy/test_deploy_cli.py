"""`inv deploy`, `deploy.history|unlock`, `rollback`, `release.resolve` as people run them.

The refusals here stop before any step runs; the one test that needs a failing step uses a
FAKE images step (named so). Everything else is real: moto's DynamoDB over HTTP, sshd on
loopback, PostgreSQL, and the Invoke program itself. Successful deploys and rollbacks on real
components: test_deploy_end_to_end.py.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Program

from common.db import embedded_cluster
from common.errors import ExitCode
from ops.deploy.lock import acquire_lock, current_holder
from ops.deploy.settings import lock_table
from ops.deploy.steps import STEP_TABLE, Step
from ops.tasks import ns
from tests.support.deploy import create_lock_table, deploy_sections, foreman_restart_command
from tests.support.inv import run_inv, table_columns

pytestmark = pytest.mark.acceptance
INV = [sys.executable, "-m", "invoke"]
REPO = Path(__file__).resolve().parents[3]


def inv_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*INV, *args], cwd=REPO, capture_output=True, text=True, timeout=120, env=os.environ
    )


def inv_in_process(*args: str) -> int:
    try:
        Program(namespace=ns, binary="inv").run(["inv", *args], exit=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_release_resolve_prints_the_environment_for_ci():
    assert inv_process("release.resolve", "v2.3.4-dev").stdout.strip() == "staging"
    assert inv_process("release.resolve", "v2.3.4").stdout.strip() == "prod"
    refused = inv_process("release.resolve", "v2.3")
    assert refused.returncode == 2
    assert "vX.Y.Z-dev deploys only to staging, vX.Y.Z only to prod" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_second_deploy_is_refused_at_once_naming_the_holder(deploy_env):
    held = acquire_lock(lock_table(deploy_env), version="v1.0.0-dev")
    try:
        second = inv_process("deploy", "-e", "staging", "-v", "v1.0.1-dev")
    finally:
        held.release()
    assert second.returncode == ExitCode.LOCK_HELD
    assert f"being deployed by {current_holder()} (pid {os.getpid()})" in second.stderr
    assert "since" in second.stderr and "--wait" in second.stderr
    history = inv_process("deploy.history", "-e", "staging", "--json")
    assert json.loads(history.stdout) == []  # the refused deploy changed nothing


def test_a_prod_version_is_refused_for_staging_on_the_command_line(deploy_env):
    refused = inv_process("deploy", "-e", "staging", "-v", "v1.0.0")
    assert refused.returncode == 2
    assert "deploys only to prod, not staging" in refused.stderr


def test_unlock_is_a_dry_run_that_reports_no_lock(deploy_env):
    result = inv_process("deploy.unlock", "-e", "staging")
    assert result.returncode == 0 and "no deploy lock is held" in result.stdout


def test_a_step_error_carrying_secrets_is_masked_in_output_logs_and_audit(
    make_env,
    session_dirs,
    tmp_path,
    moto_server,
    ssh_server,
    fake_steps,
    monkeypatch,
    capfd,
    caplog,
):
    """A leaky library puts both secrets in its error: they are masked everywhere.

    (Secrets are proven absent from every output of real deploys and a rollback in
    test_deploy_end_to_end.py; this covers the error path, with a FAKE images step that leaks.)
    """
    address = embedded_cluster().address()
    password_file = tmp_path / "db-password"
    password_file.write_text(address.password)
    password_file.chmod(0o600)
    aws_secret = "deploy-test-aws-secret-9f3Kq"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws_secret)
    monkeypatch.setenv("REFINERY_LOG_LEVEL", "DEBUG")
    run_dir = tmp_path / "foreman-run"
    run_dir.mkdir()
    sections = deploy_sections(
        endpoint_url=moto_server.endpoint_url,
        lock_table=create_lock_table(moto_server.endpoint_url),
        ssh=ssh_server,
        restart_command=foreman_restart_command(
            session_dirs["environments"], session_dirs["state"], run_dir
        ),
    )
    make_env(
        "staging",
        database={
            "kind": "dsn",
            "host": address.host,
            "port": address.port,
            "user": address.user,
            "password_env": "REFINERY_TEST_UNSET_PASSWORD",
            "password_file": str(password_file),
            "sslmode": "disable",
        },
        **sections,
    )

    def leaky(ctx):
        raise RuntimeError(f"registry refused key {aws_secret} with db {address.password}")

    leaky_images = Step("images", "leaky fake: images", leaky, lambda ctx: [], True)
    monkeypatch.setattr(
        "ops.deploy.pipeline.STEP_TABLE",
        {**STEP_TABLE, **fake_steps.steps(), "images": leaky_images},
    )
    caplog.set_level(logging.DEBUG)
    codes = [
        inv_in_process("deploy", "-e", "staging", "-v", "v1.2.0-dev"),
        inv_in_process("deploy.history", "-e", "staging", "--json", "--limit", "1"),
        inv_in_process("deploy.history", "-e", "staging"),
    ]
    captured = capfd.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert codes == [1, 0, 0], everything[-2000:]
    assert "failed at step images: RuntimeError: registry refused key ********" in captured.err
    assert '"outcome": "failed"' in captured.out
    assert "registry refused key ********" in captured.out  # the audit record, masked
    assert address.password not in everything
    assert aws_secret not in everything
    assert len(caplog.records) > 0  # logs were captured, so their lack of secrets means something


def test_history_at_80_columns_shows_versions_and_headers_whole(deploy_env):
    from ops.deploy.audit import AuditLog, DeployRecord

    record = DeployRecord("staging", "deploy", "v1.4.0-dev", "3f2a9b1c0d4e5f6a7b8c9d0e")
    record.outcome, record.steps_done = "succeeded", ["images", "infrastructure", "migrate"]
    AuditLog(lock_table(deploy_env)).save(record)
    result = run_inv("deploy.history", "-e", "staging", columns=80)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    columns = dict(table_columns(result.stdout, "staging deploys"))
    assert columns["version"] == "v1.4.0-dev"
    assert columns["outcome"] == "succeeded"
    assert set(columns) >= {"started", "action", "commit", "by", "plan+/~/±/-", "steps", "error"}


def test_a_rollback_after_a_single_deploy_says_there_is_nothing_to_roll_back_to(deploy_env):
    from ops.deploy.audit import AuditLog, DeployRecord

    none_yet = run_inv("rollback", "-e", "staging")
    assert none_yet.returncode == ExitCode.NOT_FOUND
    assert none_yet.stderr.splitlines() == [
        "error: nothing to roll back to: no successful deploy of staging is recorded"
    ]
    record = DeployRecord("staging", "deploy", "v1.0.0-dev", "3f2a9b1c0d4e")
    record.outcome = "succeeded"
    record.facts["images"] = {"worker_image": "registry/workers:v1.0.0-dev"}
    AuditLog(lock_table(deploy_env)).save(record)
    single = run_inv("rollback", "-e", "staging")
    assert single.returncode == ExitCode.NOT_FOUND
    assert single.stderr.splitlines() == [
        "error: nothing to roll back to: staging runs v1.0.0-dev and no earlier successful "
        "version is recorded (see `inv deploy.history -e staging`); deploy a fixed version "
        "instead"
    ]
    history = json.loads(run_inv("deploy.history", "-e", "staging", "--json").stdout)
    assert [(r["action"], r["version"]) for r in history] == [("deploy", "v1.0.0-dev")]
