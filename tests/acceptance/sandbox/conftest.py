"""What the sandbox's acceptance tests share: `inv` against the shipped sandbox environment
in a state folder of its own, with only what an operator's shell has, and its teardown."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from common.environments import REPO_ROOT

ENDPOINT = "http://127.0.0.1:24566"  # [aws] endpoint_url of sandbox.toml
DELIVERIES = "refinery-sandbox-deliveries"  # the sequencing core's bucket


def s3_client() -> Any:
    """The emulator's S3, with the sandbox's dummy key (an outside party's own client)."""
    return boto3.client(
        "s3", endpoint_url=ENDPOINT, region_name="us-east-1",
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
    )  # fmt: skip


def upload_folder(folder: Path) -> str:
    """Every file of `folder` under a new prefix of the deliveries bucket; its s3:// prefix."""
    s3 = s3_client()
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=DELIVERIES)  # a later upload finds it
    prefix = f"core-{uuid.uuid4().hex[:8]}/"
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), DELIVERIES, prefix + path.relative_to(folder).as_posix())
    return f"s3://{DELIVERIES}/{prefix}"


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
def sandbox(docker_engine) -> Iterator[Sandbox]:
    # The engine comes from the session's lease (tests/support/docker_services.py), never from
    # `inv sandbox.up`: an engine the sandbox starts, `inv sandbox.down` stops, under the feet
    # of the suite's other line of engine tests that found it answering and used it.
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
