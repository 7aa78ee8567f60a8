"""The command wrapper refuses a value from outside that a program would read as an option."""

from __future__ import annotations

import pytest

from common.errors import ExitCode
from common.shell import OptionLikeValue, Value, run_command, start_command, values


def test_a_value_starting_with_a_dash_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    for run in (
        lambda: run_command(["touch", Value(f"-{marker}")]),
        lambda: start_command(["touch", *values(f"--{marker}")], env={}),
    ):
        with pytest.raises(OptionLikeValue, match="starts with '-'") as caught:
            run()
        assert caught.value.exit_code == ExitCode.USAGE
    assert not any(tmp_path.iterdir())


def test_values_that_do_not_start_with_a_dash_and_unmarked_options_run(tmp_path):
    target = tmp_path / "made-by-touch"
    run_command(["touch", "-c", "--", *values(target)])  # -c: an option we wrote, not a value
    assert not target.exists()
    run_command(["touch", "--", *values(target)])
    assert target.exists()
