"""`inv tf.*` end to end: real inv, real Terraform, the null stack, state and locks in moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from common.errors import ExitCode

pytestmark = pytest.mark.acceptance
INV = Path(sys.executable).with_name("inv")
DATABASE = "module.database.null_resource.this[0]"


def inv(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(INV), *args],
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "task", [["tf.plan"], ["tf.apply", "--yes"], ["tf.output"], ["tf.unlock", "some-id"]]
)
def test_unknown_environment_is_a_one_line_error(session_dirs, task):
    name, *rest = task
    result = inv(name, "-e", "nosuch", *rest)
    assert result.returncode != 0
    message = result.stderr.strip()
    assert message.startswith("error: unknown environment 'nosuch' (known: ")
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_apply_output_guard_and_allow_destroy_through_inv(make_tf_env):
    tf_env = make_tf_env()
    name = tf_env.name

    declined = inv("tf.apply", "-e", name)  # stdin empty: cannot confirm, nothing applied
    assert declined.returncode != 0 and "not applied" in declined.stderr
    assert inv("tf.output", "-e", name, "--json").stdout.strip() == "{}"

    applied = inv("tf.apply", "-e", name, "--yes")
    assert applied.returncode == 0, applied.stderr
    assert "create" in applied.stdout and f"{name}: applied" in applied.stdout

    outputs = json.loads(inv("tf.output", "-e", name, "--json").stdout)
    assert outputs["lock_table"] == f"refinery-{name}-locks"
    table = inv("tf.output", "-e", name)
    assert "database_endpoint" in table.stdout and f"refinery-{name}-lake" in table.stdout

    again = inv("tf.apply", "-e", name, "--yes")
    assert again.returncode == 0 and "up to date" in again.stdout

    tf_env.set_variables(database_identifier="refinery-other-db")
    plan = json.loads(inv("tf.plan", "-e", name, "--json").stdout)
    assert plan["protected_changes"] == [DATABASE] and plan["replaces"] == [DATABASE]
    refused = inv("tf.apply", "-e", name, "--yes")
    assert refused.returncode == ExitCode.REFUSED
    assert DATABASE in refused.stderr and "--allow-destroy" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(inv("tf.output", "-e", name, "--json").stdout) == outputs

    allowed = inv("tf.apply", "-e", name, "--yes", "--allow-destroy")
    assert allowed.returncode == 0, allowed.stderr
    after = json.loads(inv("tf.output", "-e", name, "--json").stdout)
    assert after["database_endpoint"].startswith("refinery-other-db.")


def test_unlock_through_inv_releases_a_dead_runs_lock(make_tf_env):
    tf_env = make_tf_env()
    lock_id = "0b7f1c9e-2222-4c1e-8d55-9a1b2c3d4e5f"
    info = {"ID": lock_id, "Operation": "OperationTypePlan", "Who": "ci@runner-3", "Info": ""}
    dynamodb = tf_env.backend.dynamodb()
    dynamodb.put_item(
        TableName=tf_env.backend.lock_table,
        Item={"LockID": {"S": tf_env.lock_id}, "Info": {"S": json.dumps(info)}},
    )
    locked = inv("tf.plan", "-e", tf_env.name)
    assert locked.returncode != 0
    assert (
        "ci@runner-3" in locked.stderr and f"tf.unlock -e {tf_env.name} {lock_id}" in locked.stderr
    )

    unlocked = inv("tf.unlock", "-e", tf_env.name, lock_id)
    assert unlocked.returncode == 0, unlocked.stderr
    assert inv("tf.plan", "-e", tf_env.name).returncode == 0
