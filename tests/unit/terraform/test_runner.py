"""Terraform command lines carry no variable values and no credentials; errors are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.environments import AwsSettings, DatabaseSettings, Environment, ExecutorSettings
from common.errors import CommandError
from ops.tf.runner import RefineryTerraform, StateLockedError, check_result


def _env() -> Environment:
    return Environment(
        name="staging",
        path=Path("staging.toml"),
        database=DatabaseSettings(kind="dsn"),
        lake=None,  # type: ignore[arg-type]
        executor=ExecutorSettings(kind="batch"),
        logs={},
        aws=AwsSettings(),
        extra={},
    )


def test_variable_values_travel_in_a_temporary_file_not_in_argv(tmp_path):
    tf = RefineryTerraform(working_dir=tmp_path, extra_env={})
    argv = tf.generate_cmd_string("plan", var={"token": "s3cr3t-value"}, out="p.tfplan")
    try:
        assert not any("s3cr3t-value" in part for part in argv)
        var_files = [part.split("=", 1)[1] for part in argv if part.startswith("-var-file=")]
        assert len(var_files) == 1 and "s3cr3t-value" in Path(var_files[0]).read_text()
    finally:
        tf.temp_var_files.clean_up()


def test_a_long_credential_in_argv_is_refused_before_terraform_runs(tmp_path, monkeypatch):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    tf = RefineryTerraform(working_dir=tmp_path, extra_env={})
    with pytest.raises(CommandError, match="secret would appear") as caught:
        tf.cmd("init", backend_config={"secret_key": secret})
    assert secret not in str(caught.value)


LOCK_ERROR = """
Error: Error acquiring the state lock

Error message: ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        11111111-2222-3333-4444-555555555555
  Path:      tfstate/staging/refinery.tfstate
  Operation: OperationTypeApply
  Who:       alice@laptop
  Version:   1.0.3
  Created:   2026-11-21 03:00:00 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""


def test_a_lock_error_names_holder_and_the_unlock_command():
    with pytest.raises(StateLockedError) as caught:
        check_result(_env(), "plan", 1, "", LOCK_ERROR)
    message = str(caught.value)
    assert "alice@laptop" in message and "OperationTypeApply" in message
    assert message.endswith("inv tf.unlock -e staging 11111111-2222-3333-4444-555555555555")
    assert "\n" not in message


def test_other_failures_keep_terraform_error_lines_on_one_line():
    stderr = "\nError: Reference to undeclared input variable\n\n  on main.tf line 3\n"
    with pytest.raises(
        CommandError, match=r"plan failed: Error: Reference .*\(on main.tf line 3\)"
    ) as caught:
        check_result(_env(), "plan", 1, "", stderr)
    assert "\n" not in str(caught.value)
