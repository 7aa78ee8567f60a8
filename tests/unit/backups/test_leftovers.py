"""Leftovers of killed backups: abandoned ones are removed, one still being written never is."""

from __future__ import annotations

import os
import time

from ops.db.backups.catalog import (
    UNLOCKED_GRACE_SECONDS,
    find_leftovers,
    owned_partial,
    remove_leftovers,
)


def test_a_partial_backup_being_written_is_in_progress_and_never_removed(tmp_path):
    partial = tmp_path / ".partial-20261121T020000.000Z-logical"
    with owned_partial(partial):
        (partial / "dump").mkdir()
        (listed,) = find_leftovers(tmp_path)
        assert (listed.kind, listed.state) == ("partial", "in progress")
        assert remove_leftovers([listed]) == []
        assert partial.exists()
    assert not (partial / ".owner").exists()  # a finished backup carries no lock file


def test_abandoned_partials_and_unfinished_deletions_are_removed(tmp_path):
    dead = tmp_path / ".partial-20261121T020000.000Z-logical"
    dead.mkdir()
    (dead / ".owner").write_text("12345\n")  # its owner died: nobody holds the lock
    (dead / "toc.dat").write_bytes(b"x" * 10)
    unlocked = tmp_path / ".partial-20261120T020000.000Z-logical"
    unlocked.mkdir()
    old = time.time() - UNLOCKED_GRACE_SECONDS - 5
    os.utime(unlocked, (old, old))
    deleting = tmp_path / ".deleting-20261101T020000.000Z-logical"
    deleting.mkdir()
    (tmp_path / "20261122T020000.000Z-logical").mkdir()  # a backup: not a leftover
    found = find_leftovers(tmp_path)
    assert sorted((left.name, left.state) for left in found) == sorted(
        [(dead.name, "abandoned"), (unlocked.name, "abandoned"), (deleting.name, "abandoned")]
    )
    assert next(left for left in found if left.path == dead).size_bytes == 16
    assert len(remove_leftovers(found)) == 3
    assert [path.name for path in tmp_path.iterdir()] == ["20261122T020000.000Z-logical"]
