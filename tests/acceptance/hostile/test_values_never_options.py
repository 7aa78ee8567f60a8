"""A value given to a task reaches its external command as a value, never as an option."""

from __future__ import annotations

import pytest

from tests.acceptance.hostile.conftest import run_inv

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
