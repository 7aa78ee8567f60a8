"""A value given to a task reaches its external command as a value, never as an option."""

from __future__ import annotations

import pytest

from tests.acceptance.hostile.conftest import assert_refused, run_inv

pytestmark = pytest.mark.acceptance


def test_db_shell_runs_a_command_that_looks_like_an_option_as_sql(hostile_env):
    # `--version` handed to psql as its own option would print psql's version; as the text of
    # --command it is SQL, and `--` starts an SQL comment: psql runs nothing and says nothing.
    result = run_inv("db.shell", "-e", hostile_env.name, "--command=--version")
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL" not in result.stdout + result.stderr
    selected = run_inv("db.shell", "-e", hostile_env.name, "--command=-- a comment\nSELECT 41 + 1")
    assert selected.returncode == 0, selected.stderr
    assert "42" in selected.stdout


def test_tf_unlock_refuses_a_lock_id_that_is_an_option(hostile_env):
    result = run_inv("tf.unlock", "-e", hostile_env.name, "--lock-id=-lock=false")
    line = assert_refused(result)
    assert result.returncode == 2
    assert line.startswith("error: refusing to run terraform: the value '-lock=false'"), line
