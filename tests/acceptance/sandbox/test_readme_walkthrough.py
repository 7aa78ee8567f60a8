"""The README's "Rehearse a release" walkthrough runs as written, line by line, as a newcomer
would type it: the lines are read from README.md and run by bash from the repository root
against the shipped sandbox environment (in a state folder of its own), nothing added."""

from __future__ import annotations

import re
import subprocess

import pytest

from common.environments import REPO_ROOT

pytestmark = [pytest.mark.acceptance, pytest.mark.docker, pytest.mark.sandbox_ports]
# Lines of the walkthrough that prepare the machine rather than rehearse: they run too
# (system-packages.sh installs nothing that is there already).
PREPARATION = ["./scripts/system-packages.sh", ". .venv/bin/activate"]
WALKTHROUGH_TEST = "tests/acceptance/sandbox/test_readme_walkthrough.py"


def walkthrough_lines() -> list[str]:
    """The commands of the walkthrough's shell block, comments dropped."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Rehearse a release\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the walkthrough has no ```sh block"
    lines = [line.split(" #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_the_walkthrough_is_preparation_then_inv_commands():
    lines = walkthrough_lines()
    assert lines[: len(PREPARATION)] == PREPARATION
    rest = lines[len(PREPARATION) :]
    assert all(re.match(r"^(\w+=\$\()?inv [a-z]", line) for line in rest), rest
    assert rest[0] == "inv sandbox.up" and rest[-1] == "inv sandbox.down"
    assert any("sandbox.delivery" in line for line in rest)
    assert any(line.startswith("inv jobs.survey -e sandbox") for line in rest)


@pytest.mark.timeout(5400)
def test_the_readme_walkthrough_runs_as_written(sandbox):
    script = "set -eux\n" + "\n".join(walkthrough_lines()) + "\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=REPO_ROOT, env=sandbox.variables,
        capture_output=True, text=True, timeout=5000,
    )  # fmt: skip
    sandbox.outputs += [result.stdout, result.stderr]
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert "Traceback" not in result.stdout + result.stderr
    # The survey found the delivery and every job it led to succeeded.
    assert re.search(r"survey job \d+ and the \d+ jobs it led to succeeded", result.stderr)
    assert "rollback" in result.stdout and "v0.1.0-dev" in result.stdout
    password = (sandbox.state / "sandbox" / "database-password").read_text().strip()
    assert password not in result.stdout + result.stderr
