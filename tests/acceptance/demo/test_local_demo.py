"""The README's first command, minus the install: `inv local.demo` runs the whole loop.

Real embedded PostgreSQL, real background foreman, real local worker processes, a real lake
folder — in a state folder of its own, so the session's cluster is left alone. Proves that
every sample of the synthetic delivery is surveyed, downloaded with checksums and QC'd, that
the report is written, and that running the demo again adds nothing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from common.embedded import EmbeddedCluster
from common.environments import REPO_ROOT

pytestmark = pytest.mark.acceptance


def test_local_demo_surveys_downloads_and_qcs_every_sample_once(server_tmp_path):
    state = server_tmp_path / "state"
    variables = {**os.environ, "REFINERY_STATE_DIR": str(state), "COLUMNS": "200"}
    variables.pop("REFINERY_ENVIRONMENTS_DIR", None)  # the shipped local environment
    variables.pop("REFINERY_HANDLER_MODULES", None)

    def inv(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).with_name("inv")), *args],
            cwd=REPO_ROOT, env=variables, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    try:
        first = inv("local.demo", "--samples", "2", "--reads", "500")
        assert first.returncode == 0, first.stdout + first.stderr
        second = inv("local.demo", "--samples", "2", "--reads", "500")
        assert second.returncode == 0, second.stdout + second.stderr
        counts, stored = _catalog_counts(state)
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr

    assert "QC report:" in first.stdout
    assert (state / "local" / "reports" / "qc_report.html").stat().st_size > 10_000
    assert counts == {"experiments": 2, "original files": 4, "process succeeded": 2,
                      "download succeeded": 4, "survey succeeded": 2}  # fmt: skip
    for lake_path, sha256 in stored:
        assert hashlib.sha256(lake_path.read_bytes()).hexdigest() == sha256


def _catalog_counts(state: Path) -> tuple[dict[str, int], list[tuple[Path, str]]]:
    address = EmbeddedCluster(state / "postgres").address()
    conn = psycopg2.connect(
        host=address.host, port=address.port, user=address.user,
        password=address.password, dbname="refinery",
    )  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM experiments")
            counts = {"experiments": cur.fetchone()[0]}
            cur.execute("SELECT count(*) FROM files WHERE kind = 'original'")
            counts["original files"] = cur.fetchone()[0]
            cur.execute("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state")
            counts.update({f"{kind} {job_state}": n for kind, job_state, n in cur.fetchall()})
            cur.execute("SELECT lake_key, sha256 FROM files WHERE kind = 'original'")
            lake = state / "local" / "lake"
            stored = [(lake / key, sha256) for key, sha256 in cur.fetchall()]
    finally:
        conn.close()
    return counts, stored
