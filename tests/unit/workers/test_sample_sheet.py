"""The delivery sample sheet: a valid sheet describes its runs; every defect is one clear line."""

from __future__ import annotations

import csv

import pytest

from common.errors import ValidationError
from workers.surveyors.delivery import read_sample_sheet

COLUMNS = ["project", "sample_id", "individual", "species", "tissue", "run_id", "read1", "read2"]


def write_delivery(folder, rows, columns=COLUMNS, files=None):
    folder.mkdir(exist_ok=True)
    (folder / "fq").mkdir(exist_ok=True)
    for name in (
        files if files is not None else {r.get(c) for r in rows for c in ("read1", "read2")}
    ):
        # Only files inside the delivery: a sheet naming an absolute path (/etc/hostname) must
        # be refused by the reader, never written here (as root that would replace it).
        if name and not name.startswith("/"):
            (folder / name).write_bytes(b"@r\nACGT\n+\nIIII\n")
    with open(folder / "samplesheet.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def row(sample="S1", run="R1", **overrides):
    values = {
        "project": "P1",
        "sample_id": sample,
        "individual": "I1",
        "species": "Homo sapiens",
        "tissue": "blood",
        "run_id": run,
        "read1": f"fq/{sample}_{run}_1.fq.gz",
        "read2": f"fq/{sample}_{run}_2.fq.gz",
    }
    values.update(overrides)
    return values


def test_a_valid_sheet_describes_each_run_with_its_files(tmp_path):
    folder = write_delivery(tmp_path / "d", [row("S1"), row("S2", read2="")])
    runs = read_sample_sheet(folder)
    assert [r.experiment for r in runs] == ["P1-S1-R1", "P1-S2-R1"]
    assert [r.library_layout for r in runs] == ["PAIRED", "SINGLE"]
    first = runs[0].files[0]
    assert first.name == "S1_R1_1.fq.gz"
    assert first.source_url.startswith("file:///") and first.size_bytes == 15


@pytest.mark.parametrize(
    ("rows", "columns", "message"),
    [
        ([row()], [c for c in COLUMNS if c != "tissue"], "missing column 'tissue'"),
        ([row(), row()], COLUMNS, "duplicate sample S1 run R1"),
        ([row(individual="")], COLUMNS, "individual is empty"),
        ([row(sample="S 1")], COLUMNS, "may only hold letters"),
        ([row(), row("S1", "R2", tissue="liver")], COLUMNS, "different individual, tissue"),
        ([], COLUMNS, "no samples listed"),
        ([row(read1="fq/../../outside.fq")], COLUMNS, "outside the delivery folder"),
        ([row(read1="/etc/hostname")], COLUMNS, "must be relative"),
        ([row(), row("S2", read1="fq/S1_R1_1.fq.gz")], COLUMNS, "already listed on line 2"),
        ([row(read1_md5="xyz")], [*COLUMNS, "read1_md5"], "not 32 hex digits"),
        ([row(color="red")], [*COLUMNS, "color"], "unknown column 'color'"),
        ([row()], [*COLUMNS, "tissue"], "column 'tissue' appears twice"),
    ],
)
def test_a_malformed_sheet_is_one_clear_error(tmp_path, rows, columns, message):
    (tmp_path / "outside.fq").write_bytes(b"x")
    folder = write_delivery(tmp_path / "d", rows, columns)
    with pytest.raises(ValidationError, match=message) as caught:
        read_sample_sheet(folder)
    assert "\n" not in str(caught.value)


def test_a_missing_fastq_file_is_named(tmp_path):
    folder = write_delivery(tmp_path / "d", [row()], files=["fq/S1_R1_1.fq.gz"])
    with pytest.raises(ValidationError, match=r"read2 fq/S1_R1_2.fq.gz does not exist"):
        read_sample_sheet(folder)


def test_a_folder_without_a_sheet_is_an_error(tmp_path):
    with pytest.raises(ValidationError, match=r"samplesheet\.csv is missing"):
        read_sample_sheet(tmp_path)
    with pytest.raises(ValidationError, match="does not exist"):
        read_sample_sheet(tmp_path / "nowhere")


def test_a_symlink_out_of_the_delivery_is_refused(tmp_path):
    (tmp_path / "secret.fq").write_bytes(b"x")
    folder = write_delivery(tmp_path / "d", [row(read2="")], files=[])
    (folder / "fq" / "S1_R1_1.fq.gz").symlink_to(tmp_path / "secret.fq")
    with pytest.raises(ValidationError, match="outside the delivery folder"):
        read_sample_sheet(folder)
