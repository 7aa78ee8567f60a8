"""Logical backups against the real embedded PostgreSQL: round trip, corruption, refusal."""

from __future__ import annotations

import json

import pytest

from common import db
from ops.db.backups.catalog import find_backup, list_backups
from ops.db.backups.errors import BackupCorruptError, BackupNotFoundError
from ops.db.backups.logical import take_logical_backup
from ops.db.backups.restore import execute_restore, plan_restore
from ops.db.backups.settings import backup_settings
from ops.db.backups.tables import fingerprint_table
from ops.db.backups.verify import verify_backup
from tests.integration.backups.conftest import catalog_contents, flip_one_byte

pytestmark = pytest.mark.integration


def test_backup_writes_a_manifest_with_checksums_counts_and_note(filled_env):
    record = take_logical_backup(filled_env, backup_settings(filled_env), note="before upgrade")
    manifest = json.loads((record.path / "manifest.json").read_text())
    assert manifest["note"] == "before upgrade"
    assert manifest["tables"]["public.projects"]["rows"] == 30
    assert manifest["tables"]["public.samples"]["rows"] == 30
    assert manifest["server_version"].startswith("18")
    assert "pg_dump" in manifest["tool_version"]
    assert manifest["compression"].startswith("gzip")
    assert "toc.dat" in manifest["files"]
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert record.path.parent == filled_env.state_dir / "backups"
    assert not [p for p in record.path.parent.iterdir() if p.name.startswith(".partial-")]
    assert [r.name for r in list_backups(record.path.parent)] == [record.name]


def test_backup_verify_restore_round_trip_brings_back_the_data(filled_env):
    settings = backup_settings(filled_env)
    before = catalog_contents(filled_env)
    record = take_logical_backup(filled_env, settings)
    result = verify_backup(filled_env, record)
    assert result.ok, result.detail
    assert find_backup(settings.directory, record.name).verified is True
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM samples")
        cur.execute("UPDATE projects SET title = 'changed'")
    assert catalog_contents(filled_env) != before
    plan = plan_restore(filled_env, record)
    assert plan.rows >= 90 and plan.database == filled_env.database.name
    outcome = execute_restore(filled_env, find_backup(settings.directory, record.name))
    assert outcome.pending_migrations == []
    assert catalog_contents(filled_env) == before
    with db.maintenance_connection(filled_env) as conn, conn.cursor() as cur:
        prefix = f"{filled_env.database.name}_"
        cur.execute("SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
                    (len(prefix), prefix))  # fmt: skip
        assert cur.fetchall() == []  # no scratch, restore or old database left behind


def test_a_flipped_byte_fails_verify_naming_the_file_and_restore_refuses(filled_env):
    settings = backup_settings(filled_env)
    record = take_logical_backup(filled_env, settings)
    data_file = max((record.path / "dump").glob("*.dat.gz"), key=lambda p: p.stat().st_size)
    flip_one_byte(data_file)
    result = verify_backup(filled_env, record)
    assert not result.ok
    assert data_file.name in result.detail
    assert find_backup(settings.directory, record.name).verified is False
    before = catalog_contents(filled_env)
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession) VALUES ('ena', 'PRJ-after')")
    expected = catalog_contents(filled_env)
    assert expected != before
    with pytest.raises(BackupCorruptError, match=data_file.name):
        execute_restore(filled_env, record)
    assert catalog_contents(filled_env) == expected


def test_a_table_checksum_mismatch_fails_verification(filled_env):
    settings = backup_settings(filled_env)
    record = take_logical_backup(filled_env, settings)
    manifest_path = record.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["public.projects"]["checksum"] = "12345"
    manifest_path.write_text(json.dumps(manifest))
    result = verify_backup(filled_env, find_backup(settings.directory, record.name))
    assert not result.ok
    assert "public.projects" in result.detail


def test_unknown_backup_name_is_a_one_line_error(filled_env):
    with pytest.raises(BackupNotFoundError) as caught:
        find_backup(backup_settings(filled_env).directory, "20990101T000000.000Z-logical")
    assert "\n" not in str(caught.value)
    assert "inv db.backups" in str(caught.value)


def test_tables_with_unhashable_column_types_are_fingerprinted_too(filled_env):
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE odd_types (id serial PRIMARY KEY, doc json, at point)")
        cur.execute(
            """INSERT INTO odd_types (doc, at) VALUES ('{"a": 1}', '(1,2)'), (NULL, NULL)"""
        )
    record = take_logical_backup(filled_env, backup_settings(filled_env))
    assert record.manifest.tables["public.odd_types"]["rows"] == 2
    assert record.manifest.tables["public.odd_types"]["checksum"].startswith("c:")
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("UPDATE odd_types SET at = '(1,3)' WHERE at IS NOT NULL")
    with db.connect(filled_env) as conn:
        changed = fingerprint_table(conn, "public", "odd_types")
    assert changed["rows"] == 2
    assert changed["checksum"] != record.manifest.tables["public.odd_types"]["checksum"]
    assert verify_backup(filled_env, record).ok


def test_checksums_see_values_moved_between_columns_and_nulls(filled_env):
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE pairs (a int, b int)")
        cur.execute("INSERT INTO pairs VALUES (1, 2), (NULL, 3)")
        before = fingerprint_table(conn, "public", "pairs")
        cur.execute("UPDATE pairs SET a = b, b = a")
        swapped = fingerprint_table(conn, "public", "pairs")
        cur.execute("UPDATE pairs SET a = b, b = a")
        assert fingerprint_table(conn, "public", "pairs") == before
        cur.execute("UPDATE pairs SET a = 0 WHERE a IS NULL")
        zeroed = fingerprint_table(conn, "public", "pairs")
    assert before["rows"] == swapped["rows"] == 2
    assert len({before["checksum"], swapped["checksum"], zeroed["checksum"]}) == 3


def test_text_is_hashed_by_its_bytes_whatever_the_columns_collation(filled_env):
    # Under a nondeterministic collation a type's hash hashes the sort key, so the
    # fingerprint hashes text as "C". This server has no ICU (the only provider of such
    # collations), so what is proven here is that every kind of collatable column hashes
    # under "C" to what its deterministic collation gives: earlier manifests still match.
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("CREATE DOMAIN label AS varchar(20)")
        cur.execute('CREATE TABLE names (a text COLLATE "POSIX", b label, c text[], d char(5))')
        cur.execute(
            "INSERT INTO names VALUES ('abc', 'Abc', '{x,Y}', 'ab'), (NULL, NULL, NULL, NULL)"
        )
        fingerprint = fingerprint_table(conn, "public", "names")
        cur.execute(
            "SELECT 'c:' || sum(coalesce(hashtextextended(a, 1), 1)"
            " # coalesce(hashtextextended(b::text, 2), 2)"
            " # coalesce(hashtextextended(c::text, 3), 3)"
            " # coalesce(hashbpcharextended(d, 4), 4)) FROM names"
        )
        by_own_collation = cur.fetchone()[0]
        cur.execute("UPDATE names SET a = 'ABC' WHERE a = 'abc'")
        changed = fingerprint_table(conn, "public", "names")
    assert fingerprint == {"rows": 2, "checksum": by_own_collation}
    assert changed["checksum"] != fingerprint["checksum"]
