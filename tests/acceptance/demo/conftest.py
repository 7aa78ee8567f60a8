"""The shipped `local` environment in a state folder of this test's own.

`inv` runs from the repository root as a person would type it, with the session's test
environments, handler modules and failpoints out of its way, so the session's cluster is
left alone and nothing is injected.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from common.embedded import EmbeddedCluster
from common.environments import REPO_ROOT


@dataclass(frozen=True)
class LocalState:
    state: Path
    variables: dict[str, str]

    def inv(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).with_name("inv")), *args],
            cwd=REPO_ROOT, env=self.variables, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of `sql` on the local environment's database."""
        address = EmbeddedCluster(self.state / "postgres").address()
        conn = psycopg2.connect(
            host=address.host, port=address.port, user=address.user,
            password=address.password, dbname="refinery",
        )  # fmt: skip
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()


@pytest.fixture
def local_state(server_tmp_path) -> LocalState:
    variables = {**os.environ, "REFINERY_STATE_DIR": str(server_tmp_path / "state"),
                 "COLUMNS": "200"}  # fmt: skip
    for name in ("REFINERY_ENVIRONMENTS_DIR", "REFINERY_HANDLER_MODULES", "REFINERY_FAILPOINTS"):
        variables.pop(name, None)  # the shipped local environment, nothing injected
    return LocalState(server_tmp_path / "state", variables)
