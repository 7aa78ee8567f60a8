"""ENA file reports: the recorded answers parse; anything incomplete is a retryable failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import ValidationError
from workers.submit import survey_payload
from workers.surveyors.ena import (
    MalformedReport,
    UnknownAccession,
    parse_file_report,
    runs_from_report,
    validate_accession,
)

FIXTURES = Path(__file__).parents[2] / "integration/workers/fixtures/ena"
PAIRED = (FIXTURES / "filereport_ERR2223563_paired.tsv").read_text()
ALL_FIELDS = (FIXTURES / "filereport_SRR9320616_all_fields.tsv").read_text()


def test_paired_report_gives_two_files_position_by_position():
    rows = parse_file_report(PAIRED, "ERR2223563")
    runs, without = runs_from_report(rows, "ERR2223563")
    assert without == []
    (run,) = runs
    assert [f.name for f in run.files] == ["ERR2223563_1.fastq.gz", "ERR2223563_2.fastq.gz"]
    assert [f.md5 for f in run.files] == [
        "0e29c053bcd31072c8bed9eddece1cec",
        "5d848b65379c195fe158a5d7324b4a18",
    ]
    assert [f.size_bytes for f in run.files] == [1170312089, 1246298835]
    assert run.files[0].source_url == (
        "https://ftp.sra.ebi.ac.uk/vol1/fastq/ERR222/003/ERR2223563/ERR2223563_1.fastq.gz"
    )


def test_a_mirror_serves_the_archive_paths_of_a_recorded_report():
    """A sandbox serves recorded reports and their files on loopback: same paths, its host."""
    rows = parse_file_report(PAIRED, "ERR2223563")
    (run,), _ = runs_from_report(rows, "ERR2223563", mirror="http://127.0.0.1:8089/archive/")
    assert run.files[1].source_url == (
        "http://127.0.0.1:8089/archive/"
        "ftp.sra.ebi.ac.uk/vol1/fastq/ERR222/003/ERR2223563/ERR2223563_2.fastq.gz"
    )


def test_layout_paired_with_one_file_keeps_one_file_and_the_metadata():
    rows = parse_file_report(ALL_FIELDS, "SRR9320616")
    (run,), _ = runs_from_report(rows, "SRR9320616")
    assert run.library_layout == "PAIRED" and len(run.files) == 1
    assert run.project == "PRJNA549480" and run.sample == "SAMN12086751"
    assert run.aliquot == "SRX6088086" and run.experiment == "SRR9320616"
    assert run.species == "Mus musculus" and run.platform == "ILLUMINA"
    assert run.project_title.startswith("A murine aging cell atlas")
    assert run.files[0].size_bytes == 7763114613


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file report"),
        (PAIRED[: len(PAIRED) // 2], "cut off"),
        (PAIRED[: PAIRED.index("\t1170312089")] + "\n", "fields, not 4"),
        ("<html>Service unavailable</html>\n", "no run_accession column"),
        (PAIRED.replace(";5d848b65379c195fe158a5d7324b4a18", ""), "2 files, 1 md5s and 2 sizes"),
        (PAIRED.replace("1170312089", "big"), "malformed file entry"),
    ],
)
def test_incomplete_reports_are_failures_to_retry_not_empty_results(text, message):
    with pytest.raises(MalformedReport, match=message):
        parse_file_report(text, "ERR2223563")


def test_a_header_without_rows_means_the_accession_is_unknown():
    header = PAIRED.split("\n")[0] + "\n"
    with pytest.raises(UnknownAccession, match="no runs for ERR2223563"):
        parse_file_report(header, "ERR2223563")


def test_runs_without_fastq_files_are_reported_not_catalogued():
    text = PAIRED.split("\n")[0] + "\nERR0000001\t\t\t\n"
    runs, without = runs_from_report(parse_file_report(text, "PRJEB1"), "PRJEB1")
    assert runs == [] and without == ["ERR0000001"]


@pytest.mark.parametrize("good", ["SRR9320616", "err2223563", "PRJNA549480", "DRP000123"])
def test_wellformed_accessions_are_accepted(good):
    assert validate_accession(good) == good.upper()


@pytest.mark.parametrize(
    "bad", ["", "SRR12", "ERP001", "SRX6088086", "PRJXX1234", "SRR9320616;rm", "GSE1"]
)
def test_malformed_accessions_are_refused_before_any_request(bad):
    with pytest.raises(ValidationError, match="not an ENA run, study or project accession"):
        validate_accession(bad)
    with pytest.raises(ValidationError):
        survey_payload(bad)


def test_a_source_that_is_a_folder_is_a_delivery(tmp_path):
    with pytest.raises(ValidationError, match=r"samplesheet\.csv is missing"):
        survey_payload(str(tmp_path))
    with pytest.raises(ValidationError, match="does not exist"):
        survey_payload(str(tmp_path / "gone"))
    assert survey_payload(" srr9320616 ") == {"source": "ena", "accession": "SRR9320616"}
