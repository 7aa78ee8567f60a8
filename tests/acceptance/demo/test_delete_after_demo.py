"""`inv data.delete --execute` on what the local demo imported, with nothing injected.

The demo runs in a state folder of its own (as in test_local_demo.py). The deletion then goes
through `inv` as a person would type it: it must take (or reuse) a verified backup through
the backups area — the one `inv db.backups` lists — delete the experiment and what derives
from it, and leave `inv lake.check --checksums` clean.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.acceptance


@pytest.mark.slow
def test_deleting_a_demo_experiment_backs_up_first_and_leaves_the_lake_in_sync(local_state):
    inv = local_state.inv
    accessions = "SELECT accession FROM experiments ORDER BY id"
    try:
        demo = inv("local.demo", "--samples", "2", "--reads", "500")
        assert demo.returncode == 0, demo.stdout + demo.stderr
        [(doomed,), (kept,)] = local_state.query(accessions)
        deleted = inv("data.delete", "-e", "local", "--experiment", doomed, "--execute")
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
        remaining = local_state.query(accessions)
        listed = inv("db.backups", "-e", "local", "--json")
        checked = inv("lake.check", "-e", "local", "--checksums")
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr

    assert f"deleted: experiment {doomed}" in deleted.stdout
    assert remaining == [(kept,)]
    assert listed.returncode == 0, listed.stderr
    [backup] = json.loads(listed.stdout)
    assert backup["verified"] is True and backup["kind"] == "logical"
    assert backup["note"] == f"before deleting {doomed}"
    assert f"verified backup taken first: {backup['name']}" in deleted.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "in sync" in checked.stdout
