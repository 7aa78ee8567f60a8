"""`inv bench.quick` times the quick commands against `inv --version` through inv itself, and
reports them in the common shape (timings are not asserted); a command that fails is an error,
never a quick time."""

from __future__ import annotations

import pytest

from ops.bench.quick import QUICK_COMMANDS
from tests.support.bench import assert_json_shape
from tests.support.inv import run_inv

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_bench_quick_compares_list_and_status_with_version(make_env):
    env = make_env("quick")
    result = run_inv("bench.quick", "-e", env.name, "--runs", "1", "--json")
    assert result.returncode == 0, result.stderr
    rows = assert_json_shape(result.stdout, len(QUICK_COMMANDS))
    assert [row["peer"] for row in rows] == ["inv --version"] * 2
    assert rows[0]["benchmark"].startswith("inv --list ")
    assert rows[1]["benchmark"].startswith(f"inv jobs.status -e {env.name} ")
    assert [row["target"] for row in rows] == pytest.approx([1 / 3, 1 / 2], abs=0.01)


def test_bench_quick_refuses_when_a_command_fails(make_env):
    result = run_inv("bench.quick", "-e", "no-such-env", "--runs", "1")
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error: jobs.status -e no-such-env exited")
    assert "Traceback" not in result.stderr
