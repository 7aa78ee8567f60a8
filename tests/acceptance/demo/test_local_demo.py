"""The README's first command, minus the install: `inv local.demo` runs the whole loop.

Real embedded PostgreSQL, real background foreman, real local worker processes, a real lake
folder — in a state folder of its own, so the session's cluster is left alone. Proves that
every sample of the synthetic delivery is surveyed, downloaded with checksums and QC'd, that
the report is written, and that running the demo again adds nothing.
"""

from __future__ import annotations

import hashlib

import pytest

pytestmark = pytest.mark.acceptance


def test_local_demo_surveys_downloads_and_qcs_every_sample_once(local_state):
    inv, state = local_state.inv, local_state.state
    try:
        first = inv("local.demo", "--samples", "2", "--reads", "500")
        assert first.returncode == 0, first.stdout + first.stderr
        second = inv("local.demo", "--samples", "2", "--reads", "500")
        assert second.returncode == 0, second.stdout + second.stderr
        counts = dict(local_state.query("SELECT 'experiments', count(*) FROM experiments"))
        counts.update(
            local_state.query(
                "SELECT 'original files', count(*) FROM files WHERE kind = 'original'"
            )
        )
        counts.update(
            local_state.query(
                "SELECT kind || ' ' || state, count(*) FROM jobs GROUP BY kind, state"
            )
        )
        stored = local_state.query("SELECT lake_key, sha256 FROM files WHERE kind = 'original'")
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr

    assert "QC report:" in first.stdout
    assert (state / "local" / "reports" / "qc_report.html").stat().st_size > 10_000
    assert counts == {"experiments": 2, "original files": 4, "process succeeded": 2,
                      "download succeeded": 4, "survey succeeded": 2}  # fmt: skip
    for lake_key, sha256 in stored:
        lake_path = state / "local" / "lake" / lake_key
        assert hashlib.sha256(lake_path.read_bytes()).hexdigest() == sha256
