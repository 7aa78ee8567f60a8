"""A GEO series' SOFT family file read into its series and samples, and GEO's URL pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import JobError, ValidationError
from workers.surveyors.geo import (
    MalformedSoft,
    UnknownSeries,
    family_soft_url,
    looks_like_series,
    parse_family_soft,
    validate_series_accession,
)

FIXTURE = Path(__file__).parents[2] / "integration/workers/fixtures/geo/GSE201384_family.soft"
SOFT = FIXTURE.read_text()


def test_the_series_block_gives_title_summary_and_descriptive_fields() -> None:
    series = parse_family_soft(SOFT, "GSE201384")
    assert series.title == "Hepatic transcriptome of fasted and fed mice"
    assert series.summary == (
        "Livers of mice fasted for 24 hours and of mice fed ad libitum were profiled by "
        "RNA-seq.\n\nA liver profiled on an expression array is included for comparison."
    )
    assert series.metadata() == {
        "overall_design": "Two fasted and one fed mouse; total RNA, poly-A selected, "
        "Illumina sequencing.",
        "types": [
            "Expression profiling by high throughput sequencing",
            "Expression profiling by array",
        ],
        "platforms": ["GPL24247", "GPL1261"],
        "pubmed_ids": ["35500001"],
    }


def test_each_listed_sample_has_its_characteristics_and_sra_experiment() -> None:
    series = parse_family_soft(SOFT, "GSE201384")
    assert [s.accession for s in series.samples] == ["GSM6057001", "GSM6057002", "GSM6057003"]
    first = series.samples[0]
    assert first.title == "liver, fasted, mouse 1" and first.organism == "Mus musculus"
    assert first.characteristics == {
        "strain": "C57BL/6J",
        "tissue": "liver",
        "diet": "fasted 24 h",
        "Sex": "male",
    }
    assert first.sra_experiments == ("SRX15000001",)
    assert first.metadata()["library_strategy"] == "RNA-Seq"
    array = series.samples[2]
    assert array.sra_experiments == () and array.characteristics["diet"] == "fasted 24 h"


def test_data_tables_and_other_blocks_do_not_leak_into_fields() -> None:
    text = SOFT.replace("!Sample_data_row_count = 2", "!Sample_data_row_count = 2\n!x = y")
    series = parse_family_soft(text, "GSE201384")
    assert "1415670_at" not in repr(series) and "Copg1" not in repr(series)


def test_characteristics_without_a_key_and_repeated_keys_are_kept() -> None:
    text = SOFT.replace(
        "!Sample_characteristics_ch1 = Sex: male\n!Sample_molecule_ch1 = polyA RNA\n"
        "!Sample_extract",
        "!Sample_characteristics_ch1 = Sex: male\n!Sample_characteristics_ch1 = treatment: a\n"
        "!Sample_characteristics_ch1 = treatment: b\n!Sample_characteristics_ch1 = healthy\n"
        "!Sample_molecule_ch1 = polyA RNA\n!Sample_extract",
    )
    first = parse_family_soft(text, "GSE201384").samples[0]
    assert first.characteristics["treatment"] == "a; b"
    assert first.characteristics["characteristic"] == "healthy"


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        (
            SOFT.replace("^SERIES = GSE201384", "^SERIES = GSE1"),
            MalformedSoft,
            r"no \^SERIES = GSE201384",
        ),
        (SOFT.split("^SAMPLE = GSM6057003")[0], MalformedSoft, "lists GSM6057003 but"),
        (
            "\n".join(line for line in SOFT.splitlines() if "Series_sample_id" not in line),
            UnknownSeries,
            "lists no samples",
        ),
    ],
)
def test_incomplete_files_are_told_apart_from_empty_series(
    text: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        parse_family_soft(text, "GSE201384")
    assert issubclass(MalformedSoft, JobError) and issubclass(UnknownSeries, ValidationError)


@pytest.mark.parametrize(
    ("accession", "url"),
    [
        ("GSE201384", "https://g/geo/series/GSE201nnn/GSE201384/soft/GSE201384_family.soft.gz"),
        ("GSE1234", "https://g/geo/series/GSE1nnn/GSE1234/soft/GSE1234_family.soft.gz"),
        ("GSE123", "https://g/geo/series/GSEnnn/GSE123/soft/GSE123_family.soft.gz"),
        ("GSE7", "https://g/geo/series/GSEnnn/GSE7/soft/GSE7_family.soft.gz"),
    ],
)
def test_the_family_file_url_follows_geos_pattern(accession: str, url: str) -> None:
    assert family_soft_url("https://g/geo/", accession) == url


def test_series_accessions_are_gse_and_ascii_digits() -> None:
    assert validate_series_accession(" gse201384 ") == "GSE201384"
    for bad in ("GSE", "GSE12x", "GSE١٢٣", "GSE1234567890", "GSE 12"):
        assert looks_like_series(bad)
        with pytest.raises(ValidationError, match="not a GEO series accession"):
            validate_series_accession(bad)
    assert not looks_like_series("SRP000001")
