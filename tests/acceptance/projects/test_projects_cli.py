"""`inv projects.add | projects.list` as people type them: a title is one bounded line of
text, and a schema version is written in ASCII digits (`２` is not 2), on the command line and
on a sample sheet's first line."""

from __future__ import annotations

import json

import pytest

from common.errors import ExitCode
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import count_rows
from tests.support.inv import one_error_line, run_inv

pytestmark = pytest.mark.acceptance


def test_a_project_added_is_listed_with_its_schema_version(env):
    added = run_inv("projects.add", "-e", env.name, "CRC-2026", "--title", "Colorectal 2026",
                    "--owner", "oncology", "--schema-version", "1")  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = json.loads(run_inv("projects.list", "-e", env.name, "--json").stdout)
    assert [(p["code"], p["title"], p["owner"], p["schema_version"]) for p in listed] == [
        ("CRC-2026", "Colorectal 2026", "oncology", 1)
    ]
    table = run_inv("projects.list", "-e", env.name)
    assert table.returncode == 0 and "CRC-2026" in table.stdout


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("x" * 100_000, "the project's title is too long (100,000 characters, at most 200)"),
        ("two\nlines", "the project's title contains a control character (\\x0a)"),
        ("red \x1b[31mtitle", "the project's title contains a control character (\\x1b)"),
    ],
    ids=["100k characters", "a newline", "an escape"],
)
def test_a_title_that_is_not_one_bounded_line_is_refused(env, conn, title, message):
    result = run_inv("projects.add", "-e", env.name, "CRC", "--title", title, "--owner", "o")
    assert result.returncode == ExitCode.USAGE
    line = one_error_line(result)
    assert message in line and len(line) < 400
    assert count_rows(conn, "projects") == {"projects": 0}


def test_a_full_width_schema_version_is_refused(env, conn):
    result = run_inv("projects.add", "-e", env.name, "CRC", "--title", "t", "--owner", "o",
                     "--schema-version", "２")  # fmt: skip
    assert result.returncode == ExitCode.USAGE
    assert "unknown metadata_record schema version '２'" in one_error_line(result)
    assert count_rows(conn, "projects") == {"projects": 0}


def test_a_sheet_declaring_a_full_width_version_is_refused_before_anything_is_queued(
    env, conn, tmp_path
):
    folder = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10).folder
    sheet = folder / "samplesheet.csv"
    sheet.write_text("# schema_version: ２\n" + sheet.read_text())
    result = run_inv("jobs.survey", "-e", env.name, str(folder))
    assert result.returncode == ExitCode.USAGE
    assert "unknown sample_sheet schema version '２'" in one_error_line(result)
    assert count_rows(conn, "jobs") == {"jobs": 0}
