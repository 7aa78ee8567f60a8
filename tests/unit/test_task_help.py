"""`inv TASK --help` prints the task's help, also for tasks that take positional arguments
(Invoke's parser hands `--help` to the first missing positional; the task wrapper notices)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.environments import REPO_ROOT
from common.errors import ExitCode
from ops.tasks import ns

POSITIONAL = sorted(name for name in ns.task_names if ns[name].positional)


def test_tasks_with_a_positional_argument_exist():
    # one positional, and two required ones (`--help` fills the first; the second must not be
    # reported missing)
    assert {"jobs.cancel", "data.delete", "db.restore", "users.add", "data.export"} <= set(
        POSITIONAL
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("name", POSITIONAL)
def test_help_after_a_task_with_a_positional_prints_its_help(name, flag):
    shown = subprocess.run(
        [sys.executable, "-m", "invoke", name, flag],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.startswith(f"Usage: inv[oke] [--core-opts] {name} [--options]")
    assert "Options:" in shown.stdout


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
@pytest.mark.parametrize(
    "argv", [["--list"], ["--help", "jobs.cancel"], ["jobs.cancel", "--help"]], ids=" ".join
)
def test_a_reader_that_goes_away_stops_inv_without_a_traceback(argv, unbuffered):
    """`inv --list | head`: the pipe is closed before `inv` writes (it takes far longer to start
    than the close), so every write fails with EPIPE — at once when Python's output is
    unbuffered, at the last flush when it is buffered (short output, no PYTHONUNBUFFERED)."""
    variables = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        variables["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", *argv],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=variables,
    )  # fmt: skip
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert stderr == ""


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["jobs.status", "--bogus"],
            "error: inv jobs.status: No idea what '--bogus' is! (see inv jobs.status --help)",
        ),
        (["jobs.cancel", "-e", "local"], "error: inv jobs.cancel needs JOB_ID"),
        (["users.add", "-e", "local"], "error: inv users.add needs NAME, ROLE"),
        (["jobs.survey", "-e", "local"], "error: inv jobs.survey needs SOURCE or --file"),
        (["no-such.task"], "error: No idea what 'no-such.task' is!"),
    ],
    ids=" ".join,
)
def test_invokes_own_parse_errors_are_one_error_line_and_exit_2(argv, line):
    """A mistyped option or a missing argument keeps the contract of every other bad input:
    one `error: …` line, the usage exit code, no traceback (Invoke alone exits 1 with its own
    words)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("inv")), *argv],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), result.stderr


def test_env_help_names_every_environment_file():
    from tests.support.inv import run_inv

    # the shipped environment files, not a test session's folder
    shown = run_inv("jobs.status", "--help", env={"REFINERY_ENVIRONMENTS_DIR": ""})
    help_text = " ".join(shown.stdout.split())
    names = sorted(path.stem for path in (REPO_ROOT / "infrastructure/environments").glob("*.toml"))
    assert "sandbox" in names
    assert f"environment name: {', '.join(names)}" in help_text
