"""Physical backups: pg_basebackup + pg_verifybackup + a throwaway server; a physical restore
swaps the data directory of a private embedded cluster (never the session's)."""

from __future__ import annotations

import pytest

from common import db
from common.environments import STATE_DIR_VARIABLE
from ops.db.backups.catalog import find_backup
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.physical import take_physical_backup
from ops.db.backups.restore import execute_restore
from ops.db.backups.settings import backup_settings
from ops.db.backups.verify import verify_backup
from tests.integration.backups.conftest import catalog_contents, fill_catalog, flip_one_byte

pytestmark = pytest.mark.integration


@pytest.fixture
def private_cluster_env(make_env, monkeypatch, tmp_path):
    """An environment on its own embedded cluster (own state folder), stopped afterwards."""
    environment = make_env()  # env file in the session folder; its database is made below
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "private-state"))
    from foreman.migrations import apply_migrations

    conn = db.connect(environment)
    try:
        apply_migrations(conn)
    finally:
        conn.close()
    fill_catalog(environment, projects=10)
    yield environment
    db.embedded_cluster().stop()


def test_physical_backup_verifies_by_starting_a_server_on_a_copy(private_cluster_env):
    settings = backup_settings(private_cluster_env)
    record = take_physical_backup(private_cluster_env, settings, note="before resize")
    assert (record.path / "data" / "backup_manifest").is_file()
    assert "backup_manifest" in record.manifest.files
    result = verify_backup(private_cluster_env, record)
    assert result.ok, result.detail
    assert "server started" in result.detail


def test_a_flipped_byte_in_a_physical_backup_is_named_and_restore_refuses(private_cluster_env):
    settings = backup_settings(private_cluster_env)
    record = take_physical_backup(private_cluster_env, settings)
    relation = max(
        (p for p in (record.path / "data" / "base").rglob("*") if p.is_file()),
        key=lambda p: p.stat().st_size,
    )
    flip_one_byte(relation)
    result = verify_backup(private_cluster_env, record)
    assert not result.ok
    assert str(relation.relative_to(record.path / "data")) in result.detail
    expected = catalog_contents(private_cluster_env)
    with pytest.raises(BackupCorruptError):
        execute_restore(private_cluster_env, find_backup(settings.directory, record.name))
    assert catalog_contents(private_cluster_env) == expected


def test_physical_restore_swaps_the_data_directory_back_to_the_backup(private_cluster_env):
    settings = backup_settings(private_cluster_env)
    before = catalog_contents(private_cluster_env)
    record = take_physical_backup(private_cluster_env, settings)
    with db.transaction(private_cluster_env) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM samples")
    assert catalog_contents(private_cluster_env) != before
    outcome = execute_restore(private_cluster_env, record)
    assert catalog_contents(private_cluster_env) == before
    assert outcome.pending_migrations == []
    leftovers = [p.name for p in db.embedded_cluster().base_dir.iterdir() if "data." in p.name]
    assert leftovers == []
