"""Big tables dumped and loaded in block ranges (forced here by lowering the size threshold)."""

from __future__ import annotations

import json

import pytest
import zstandard

from common import db
from common.files import file_sha256
from ops.db.backups import split
from ops.db.backups.catalog import find_backup
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.logical import take_logical_backup
from ops.db.backups.restore import execute_restore
from ops.db.backups.settings import backup_settings
from ops.db.backups.tables import fingerprint_table
from ops.db.backups.verify import verify_backup
from tests.integration.backups.conftest import catalog_contents

pytestmark = pytest.mark.integration


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 0)


def _add_wide_table(env) -> None:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE wide (id int PRIMARY KEY, label text, at timestamptz, ratio float8, "
            "doubled int GENERATED ALWAYS AS (id * 2) STORED)"
        )
        cur.execute(
            "INSERT INTO wide (id, label, at, ratio) SELECT g, 'row\t' || g || E'\\\\ ü', "
            "'2026-01-01'::timestamptz + g * interval '1 minute', 1.0 / (g + 3) "
            "FROM generate_series(1, 5000) g"
        )
        cur.execute("CREATE TYPE mood AS ENUM ('sad', 'glad')")
        cur.execute("CREATE TABLE moods (id int, mood mood)")
        cur.execute(
            "INSERT INTO moods SELECT g, CASE WHEN g % 2 = 0 THEN 'sad' ELSE 'glad' END::mood "
            "FROM generate_series(1, 100) g"
        )


def test_split_tables_round_trip_through_verify_and_restore(filled_env, split_everything):
    _add_wide_table(filled_env)
    settings = backup_settings(filled_env)
    before = catalog_contents(filled_env)
    record = take_logical_backup(filled_env, settings)
    manifest = record.manifest
    assert "public.wide" in manifest.split_tables
    entry = manifest.split_tables["public.wide"]
    assert "doubled" not in entry["columns"]  # generated: recomputed, not copied
    assert entry["ranges"][-1][1] is None  # the last range is open-ended
    assert entry["format"] == "binary"  # every column type is built in
    assert manifest.split_tables["public.moods"]["format"] == "text"  # a user-defined enum
    assert all(name in manifest.files for name in entry["files"])
    assert len(entry["ranges"]) >= 2
    with db.connect(filled_env) as conn:  # the ranges' sums are the whole table's checksum
        assert manifest.tables["public.wide"] == fingerprint_table(conn, "public", "wide")
        assert manifest.tables["public.moods"] == fingerprint_table(conn, "public", "moods")
    assert verify_backup(filled_env, record).ok
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM samples")
        cur.execute("DROP TABLE wide")
        cur.execute("UPDATE moods SET mood = 'sad'")
    execute_restore(filled_env, record)
    assert catalog_contents(filled_env) == before
    with db.connect(filled_env) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), sum(doubled), max(ratio) FROM wide")
        assert cur.fetchone() == (5000, 5000 * 5001, 0.25)
        cur.execute("SELECT label FROM wide WHERE id = 7")
        assert cur.fetchone()[0] == "row\t7\\ ü"
        cur.execute("SELECT mood::text, count(*) FROM moods GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [("glad", 50), ("sad", 50)]


def test_a_split_range_with_a_row_missing_fails_the_checksum_check(filled_env, split_everything):
    _add_wide_table(filled_env)
    record = take_logical_backup(filled_env, backup_settings(filled_env))
    first = record.path / "dump" / record.manifest.split_tables["public.moods"]["files"][0]
    lines = (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress(first.read_bytes())
        .splitlines(keepends=True)
    )
    first.write_bytes(zstandard.compress(b"".join(lines[1:])))
    manifest_path = record.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())  # re-sign the file: only the rows can tell
    relative = str(first.relative_to(record.path / "dump"))
    manifest["files"][relative]["size"] = first.stat().st_size
    manifest["files"][relative]["sha256"] = file_sha256(first)
    manifest_path.write_text(json.dumps(manifest))
    result = verify_backup(filled_env, find_backup(record.path.parent, record.name))
    assert not result.ok
    assert "public.moods" in result.detail
    with pytest.raises(BackupCorruptError):
        execute_restore(filled_env, find_backup(record.path.parent, record.name))


def test_a_split_table_whose_hash_the_server_refuses_is_fingerprinted_as_text(
    filled_env, split_everything
):
    _add_wide_table(filled_env)
    with db.transaction(filled_env) as conn, conn.cursor() as cur:
        # A hash operator class for `mood` whose 64-bit hash function refuses to run.
        cur.execute(
            "CREATE FUNCTION refusing_hash(mood, bigint) RETURNS bigint LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'no' USING ERRCODE = 'feature_not_supported'; END $$"
        )
        cur.execute(
            "CREATE OPERATOR CLASS mood_hash DEFAULT FOR TYPE mood USING hash AS "
            "OPERATOR 1 = (anyenum, anyenum), FUNCTION 1 hashenum(anyenum), "
            "FUNCTION 2 refusing_hash(mood, bigint)"
        )
    record = take_logical_backup(filled_env, backup_settings(filled_env))
    assert record.manifest.tables["public.moods"]["checksum"].startswith("t:")
    assert record.manifest.tables["public.moods"]["rows"] == 100
    assert record.manifest.tables["public.wide"]["checksum"].startswith("c:")
    assert verify_backup(filled_env, record).ok
