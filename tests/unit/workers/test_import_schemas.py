"""Import schemas: every problem of a sheet at once, versions declared or assigned, unknown
versions refused, and sheets written for an older version still read after a newer one."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from common.errors import ValidationError
from tests.unit.workers.test_sample_sheet import COLUMNS, row, write_delivery
from workers.schemas import validation as schemas
from workers.schemas.validation import SchemaValidationError
from workers.surveyors.delivery import read_sample_sheet


@pytest.mark.parametrize("kind", schemas.KINDS)
def test_every_schema_file_is_valid_json_schema_and_versions_have_no_gaps(kind):
    found = schemas.versions(kind)
    assert found == list(range(1, len(found) + 1))
    for version in found:
        document = json.loads((schemas.SCHEMAS_DIR / kind / f"v{version}.json").read_text())
        Draft202012Validator.check_schema(document)
        assert set(document["required"]) <= set(document["properties"])


def test_a_sheet_with_ten_problems_reports_all_ten_in_one_run(tmp_path):
    (tmp_path / "outside.fq").write_bytes(b"x")
    rows = [
        row("S1", individual=""),  # 1 line 2: empty individual
        row("S 2"),  # 2 line 3: bad sample id
        row("S3", read1_md5="xyz"),  # 3 line 4: md5 not hex
        row("S3", "R2", tissue="liver"),  # 4 line 5: sample S3 changes tissue
        row("S4", read1="fq/../../outside.fq"),  # 5 line 6: outside the delivery
        row("S5", read1="/etc/hostname"),  # 6 line 7: absolute path
        row("S6", read1="fq/S4_R1_2.fq.gz"),  # 7 line 8: file already listed on line 6
        row("S7", read2="fq/missing.fq.gz"),  # 8 line 9: FASTQ missing
        row("S3", "R2", read1="fq/a.fq", read2="fq/b.fq"),  # 9 line 10: duplicate run
    ]
    columns = [*COLUMNS, "read1_md5", "colour"]  # 10: an unknown column
    files = {r[c] for r in rows for c in ("read1", "read2") if r[c].startswith("fq/")}
    files -= {"fq/missing.fq.gz", "fq/../../outside.fq"}
    folder = write_delivery(tmp_path / "d", rows, columns, files=sorted(files))
    with pytest.raises(SchemaValidationError) as caught:
        read_sample_sheet(folder)
    message = str(caught.value)
    assert "\n" not in message and "10 problems" in message
    expected = [
        "unknown column 'colour'",
        "line 2: individual is empty",
        "line 3: sample_id 'S 2' may only hold letters",
        "line 4: read1_md5 'xyz' is not 32 hex digits",
        "line 5: sample S3 has a different individual, tissue",
        "line 6: read1 'fq/../../outside.fq' points outside the delivery folder",
        "line 7: read1 '/etc/hostname' must be relative",
        "line 8: fq/S4_R1_2.fq.gz is already listed on line 6",
        "line 9: read2 fq/missing.fq.gz does not exist",
        "line 10: duplicate sample S3 run R2",
    ]
    assert len(caught.value.problems) == 10
    for text in expected:
        assert text in message, text


def _declare(folder, version):
    sheet = folder / "samplesheet.csv"
    sheet.write_text(f"# schema_version: {version}\n" + sheet.read_text())


def test_a_sheet_without_a_declaration_is_assigned_version_1(tmp_path):
    runs = read_sample_sheet(write_delivery(tmp_path / "d", [row()]))
    assert runs[0].schema == ("sample_sheet", 1)
    assert runs[0].origin == str((tmp_path / "d").resolve())


def test_an_unknown_version_is_refused_by_name(tmp_path):
    folder = write_delivery(tmp_path / "d", [row()])
    _declare(folder, 9)
    with pytest.raises(
        ValidationError, match=r"unknown sample_sheet schema version '9' \(known: 1, 2\)"
    ):
        read_sample_sheet(folder)


def test_version_2_needs_its_new_field_and_names_lines_after_the_declaration(tmp_path):
    folder = write_delivery(
        tmp_path / "d",
        [row(), row("S2", collection_date="2026-13-01")],
        [*COLUMNS, "collection_date"],
    )
    _declare(folder, 2)
    with pytest.raises(SchemaValidationError) as caught:
        read_sample_sheet(folder)
    assert [str(p) for p in caught.value.problems] == [
        "line 3: collection_date is empty",
        "line 4: collection_date '2026-13-01' is not a date (YYYY-MM-DD)",
    ]


def test_a_version_1_sheet_still_reads_after_version_2_was_added(tmp_path):
    assert schemas.latest_version("sample_sheet") >= 2
    v1 = write_delivery(tmp_path / "v1", [row()])
    _declare(v1, 1)
    runs = read_sample_sheet(v1)
    assert runs[0].schema == ("sample_sheet", 1) and runs[0].sample_metadata == {}
    v2 = write_delivery(
        tmp_path / "v2",
        [row(collection_date="2026-03-01", sex="female")],
        [*COLUMNS, "collection_date", "sex"],
    )
    _declare(v2, 2)
    runs = read_sample_sheet(v2)
    assert runs[0].schema == ("sample_sheet", 2)
    assert runs[0].sample_metadata == {"collection_date": "2026-03-01", "sex": "female"}


def test_metadata_records_report_every_field_of_every_record():
    problems = schemas.problems_in(
        "metadata_record",
        1,
        schemas.without_empty(
            {
                "sample_id": "S 1",
                "individual_id": "",
                "species": "Homo sapiens",
                "tissue": "blood",
                "sex": "f",
                "collection_date": "yesterday",
            }
        ),
        where="record S 1",
    )
    assert [str(p) for p in problems] == [
        "record S 1: sample_id 'S 1' may only hold letters, digits, . _ -",
        "record S 1: individual_id is empty",
        "record S 1: sex 'f' must be female, male or unknown",
        "record S 1: collection_date 'yesterday' is not a date (YYYY-MM-DD)",
    ]
