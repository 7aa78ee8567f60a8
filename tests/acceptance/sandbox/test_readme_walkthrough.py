"""The README's "Rehearse a release" walkthrough is a machine's preparation, then `inv` lines
from `inv sandbox.up` to `inv sandbox.down`, so a newcomer can type it from a clone.
tests/acceptance/sandbox/test_whole_loop.py runs those lines, as written, on the sandbox."""

from __future__ import annotations

import re

from tests.acceptance.sandbox.walkthrough import walkthrough_lines

# Lines of the walkthrough that prepare the machine rather than rehearse: they run too
# (system-packages.sh installs nothing that is there already).
PREPARATION = ["./scripts/system-packages.sh", ". .venv/bin/activate"]


def test_the_walkthrough_is_preparation_then_inv_commands():
    lines = walkthrough_lines()
    assert lines[: len(PREPARATION)] == PREPARATION
    rest = lines[len(PREPARATION) :]
    assert all(re.match(r"^(\w+=\$\()?inv [a-z]", line) for line in rest), rest
    assert rest[0] == "inv sandbox.up" and rest[-1] == "inv sandbox.down"
    assert any("sandbox.delivery" in line for line in rest)
    assert any(line.startswith("inv jobs.survey -e sandbox") for line in rest)
