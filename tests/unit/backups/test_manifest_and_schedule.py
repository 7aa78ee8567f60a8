"""Manifest checks name the bad file; schedule units and cron lines render from the env file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.errors import ConfigError
from ops.db.backups.catalog import new_backup_name, time_of_name
from ops.db.backups.errors import BackupCorruptError
from ops.db.backups.manifest import Manifest, check_files, describe_files, write_manifest
from ops.schedule.units import oncalendar_to_cron


def _backup(tmp_path: Path) -> tuple[Path, Manifest]:
    backup = tmp_path / "b"
    (backup / "dump" / "sub").mkdir(parents=True)
    (backup / "dump" / "toc.dat").write_bytes(b"table of contents")
    (backup / "dump" / "sub" / "3001.dat.gz").write_bytes(bytes(range(256)) * 10)
    manifest = Manifest(
        name="b", kind="logical", environment="t", database="d", created_at="", finished_at="",
        created_by="", note="", server_version="18", tool_version="18", database_size_bytes=0,
        files=describe_files(backup / "dump"),
    )  # fmt: skip
    write_manifest(backup, manifest)
    return backup, manifest


def test_untouched_files_pass(tmp_path):
    backup, manifest = _backup(tmp_path)
    check_files(backup, manifest)


def test_one_flipped_byte_is_named(tmp_path):
    backup, manifest = _backup(tmp_path)
    target = backup / "dump" / "sub" / "3001.dat.gz"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(BackupCorruptError, match=r"dump/sub/3001\.dat\.gz"):
        check_files(backup, manifest)


def test_missing_and_extra_files_are_named(tmp_path):
    backup, manifest = _backup(tmp_path)
    (backup / "dump" / "toc.dat").unlink()
    (backup / "dump" / "intruder").write_text("x")
    with pytest.raises(BackupCorruptError, match=r"dump/toc\.dat is missing \(and 1 more\)"):
        check_files(backup, manifest)


def test_backup_names_sort_by_time_and_parse_back():
    from datetime import UTC, datetime, timedelta

    first = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    names = [new_backup_name("logical", first + timedelta(seconds=s)) for s in (0, 1, 61, 3600)]
    assert names == sorted(names)
    assert time_of_name(names[0]) == first
    assert time_of_name("not-a-backup") is None


@pytest.mark.parametrize(
    ("expression", "cron"),
    [("*-*-* 02:00:00", "0 2 * * *"), ("*-*-* 23:45", "45 23 * * *"), ("*:0/15", "*/15 * * * *"),
     ("daily", "0 0 * * *")],
)  # fmt: skip
def test_oncalendar_forms_convert_to_cron(expression, cron):
    assert oncalendar_to_cron(expression) == cron


def test_unconvertible_oncalendar_is_a_config_error():
    with pytest.raises(ConfigError, match="no cron equivalent"):
        oncalendar_to_cron("Mon..Fri 08:00")


def test_backups_started_in_the_same_millisecond_get_names_of_their_own(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from ops.db.backups.catalog import PARTIAL_PREFIX, claim_backup_name

    moment = datetime(2026, 12, 5, 8, 0, 0, 123000, tzinfo=UTC)
    (tmp_path / new_backup_name("logical", moment)).mkdir()  # a finished backup of that time
    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda _: claim_backup_name(tmp_path, "logical", moment), range(8)))
    assert len(set(names)) == 8
    assert new_backup_name("logical", moment) not in names
    assert sorted(names)[0] == "20261205T080000.124Z-logical"
    assert all((tmp_path / f"{PARTIAL_PREFIX}{name}").is_dir() for name in names)
    assert all(time_of_name(name) is not None for name in names)
