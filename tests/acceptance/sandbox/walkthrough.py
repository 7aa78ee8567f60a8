"""The README's "Rehearse a release" walkthrough: its lines as README.md has them, and a run of
them by bash from the repository root against the shipped sandbox environment (in the given
state folder), nothing added — as a newcomer would type them."""

from __future__ import annotations

import re
import subprocess

from common.environments import REPO_ROOT
from tests.acceptance.sandbox.conftest import Sandbox

# The test that runs the walkthrough's lines (tests/unit/test_every_task_is_run.py counts
# the walkthrough's tasks as run there).
WALKTHROUGH_TEST = "tests/acceptance/sandbox/test_whole_loop.py"


def walkthrough_lines() -> list[str]:
    """The commands of the walkthrough's shell block, comments dropped."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Rehearse a release\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the walkthrough has no ```sh block"
    lines = [line.split(" #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def run_the_walkthrough(box: Sandbox) -> None:
    """Run the walkthrough's lines in one bash, stopping at the first that fails, and check
    what a newcomer would look for in its output."""
    script = "set -eux\n" + "\n".join(walkthrough_lines()) + "\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=REPO_ROOT, env=box.variables,
        capture_output=True, text=True, timeout=5000,
    )  # fmt: skip
    box.outputs += [result.stdout, result.stderr]
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert "Traceback" not in result.stdout + result.stderr
    # The survey found the delivery and every job it led to succeeded.
    assert re.search(r"survey job \d+ and the \d+ jobs it led to succeeded", result.stderr)
    assert "rollback" in result.stdout and "v0.1.0-dev" in result.stdout
    password = (box.state / "sandbox" / "database-password").read_text().strip()
    assert password not in result.stdout + result.stderr
