"""What the sandbox's acceptance tests share: `inv` against the shipped sandbox environment
in a state folder of its own, with only what an operator's shell has, and its teardown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.environments import REPO_ROOT


class Sandbox:
    """`inv` against the shipped sandbox environment, in a private state folder."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.variables = {
            key: value
            for key, value in os.environ.items()
            # Only what an operator's shell has: no test environment folder, no credentials.
            if not key.startswith(("AWS_", "REFINERY_")) and key != "PGPASSWORD"
        }
        self.variables.update({"REFINERY_STATE_DIR": str(state), "COLUMNS": "200"})
        self.outputs: list[str] = []

    def inv(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=REPO_ROOT, env=self.variables, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        self.outputs += [result.stdout, result.stderr]
        return result

    def ok(self, *args: str, timeout: float = 900) -> str:
        result = self.inv(*args, timeout=timeout)
        step = " ".join(args[:3])
        assert result.returncode == 0, f"{step}: {result.stdout[-2500:]}{result.stderr[-2500:]}"
        return result.stdout

    def sql(self, statement: str) -> list[str]:
        """One-column rows of `statement`, through `inv db.shell` (and so the tunnel)."""
        out = self.ok("db.shell", "-e", "sandbox", "--command", statement)
        lines = [line.strip() for line in out.splitlines()]
        # psql's aligned output: header, rule, rows, "(N rows)".
        rule = next(i for i, line in enumerate(lines) if set(line) <= {"-", "+"} and line)
        return [line for line in lines[rule + 1 :] if line and not line.startswith("(")]

    def job_counts(self) -> dict[tuple[str, str], int]:
        report = json.loads(self.ok("jobs.status", "-e", "sandbox", "--json"))
        return {(row["kind"], row["state"]): row["jobs"] for row in report["counts"]}

    def emulator_log(self) -> Path:
        return self.state / "sandbox" / "services" / "moto.log"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # Not under pytest's 0700 temporary root: the database stand-in runs as an unprivileged
    # user when the suite runs as root, and the foreman's container as the images' user.
    root = Path(tempfile.mkdtemp(prefix="refinery-sandbox-"))
    root.chmod(0o755)
    box = Sandbox(root / "state")
    try:
        yield box
    finally:
        box.inv("sandbox.down")  # by pid: whatever a failed step left running
        shutil.rmtree(root, ignore_errors=True)
