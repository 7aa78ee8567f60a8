"""The microarray pieces that need no R: which GEO samples are Affymetrix arrays and what
they download, a sample's own table, probe-to-gene tables and the mean per gene."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from common.errors import ValidationError
from common.settings.jobs import GeoSettings
from workers.processors.affy_chips import package_name, read_probe_genes, summarise_to_genes
from workers.processors.affy_r import ProbeSetValues
from workers.processors.geo_tables import MalformedTable, read_sample_table
from workers.surveyors.geo import parse_family_soft
from workers.surveyors.geo_arrays import (
    array_run,
    chip_of_platform,
    download_url,
    is_affymetrix,
    table_url,
)

FIXTURES = Path(__file__).parents[2] / "integration/arrays/fixtures"
SETTINGS = GeoSettings(base_url="http://127.0.0.1:9/geo", query_url="http://127.0.0.1:9/q/acc.cgi")


def test_an_affymetrix_sample_with_a_cel_file_is_an_array_with_that_file() -> None:
    series = parse_family_soft((FIXTURES / "GSE250001_family.soft").read_text(), "GSE250001")
    run = array_run(series, series.samples[0], SETTINGS)
    assert run is not None
    assert (run.project, run.sample, run.experiment, run.platform) == (
        "GSE250001", "GSM7000001", "GSM7000001", "GPL99001",
    )  # fmt: skip
    (cel,) = run.files
    assert cel.name == "GSM7000001_ctrl1.CEL.gz"
    assert cel.source_url == (
        "http://127.0.0.1:9/geo/samples/GSM7000nnn/GSM7000001/suppl/GSM7000001_ctrl1.CEL.gz"
    )
    assert run.metadata["array"]["raw"] == "CEL" and run.tissue == "liver"


def test_an_affymetrix_sample_with_only_a_table_downloads_its_table() -> None:
    series = parse_family_soft((FIXTURES / "GSE250002_family.soft").read_text(), "GSE250002")
    run = array_run(series, series.samples[1], SETTINGS)
    assert run is not None
    (table,) = run.files
    assert table.name == "GSM7000102_table.txt"
    assert table.source_url == table_url(SETTINGS.query_url, "GSM7000102")
    assert table.source_url.endswith("acc.cgi?acc=GSM7000102&targ=self&form=text&view=data")
    assert run.metadata["array"] == {
        "platform": "GPL99001", "manufacturer": "Affymetrix", "raw": "table", "rows": 4,
        "title": "[RFY-Test1] Affymetrix Refinery Test Array", "chip": "RFY-Test1",
    }  # fmt: skip


def test_a_sample_of_another_maker_or_without_any_file_is_not_an_array() -> None:
    text = (FIXTURES / "GSE250002_family.soft").read_text()
    text_of_other = text.replace("!Platform_manufacturer = Affymetrix\n", "")
    other = parse_family_soft(text_of_other.replace("Affymetrix", "Illumina"), "GSE250002")
    assert array_run(other, other.samples[0], SETTINGS) is None
    without_table = text.replace("!Sample_data_row_count = 4", "!Sample_data_row_count = 0")
    bare = parse_family_soft(without_table, "GSE250002")
    assert array_run(bare, bare.samples[0], SETTINGS) is None


@pytest.mark.parametrize(
    ("platform", "affymetrix"),
    [
        ({"title": "[HG-U133A] Affymetrix Human Genome U133A Array"}, True),
        ({"title": "Custom chip", "manufacturer": "Affymetrix, Inc."}, True),
        ({"title": "Illumina HumanHT-12 V4.0", "manufacturer": "Illumina Inc."}, False),
    ],
)
def test_affymetrix_platforms_are_known_by_maker_or_title(platform, affymetrix) -> None:
    assert is_affymetrix(platform) is affymetrix


def test_geo_download_area_files_are_read_under_the_base_url_and_others_as_they_are() -> None:
    base = "https://mirror.test/geo"
    listed = "ftp://ftp.ncbi.nlm.nih.gov/geo/samples/GSM1nnn/GSM1000/suppl/a.CEL.gz"
    assert download_url(listed, base) == base + "/samples/GSM1nnn/GSM1000/suppl/a.CEL.gz"
    assert download_url("https://example.org/geo/a.CEL", base) == "https://example.org/geo/a.CEL"


def test_the_chip_is_the_bracketed_part_of_the_platform_title_and_named_as_affy_cleans_it():
    assert chip_of_platform({"title": "[HG-U133_Plus_2] Affymetrix Human …"}) == "HG-U133_Plus_2"
    assert chip_of_platform({"title": "Affymetrix without brackets"}) == ""
    assert package_name("HG-U133_Plus_2") == "hgu133plus2cdf"
    assert package_name("Mouse430_2") == "mouse4302cdf"


def test_a_sample_table_is_read_skipping_values_that_are_not_numbers() -> None:
    table = read_sample_table(FIXTURES / "GSM7000101_view_data.txt")
    assert table == {"RFY00001_at": 8.1, "RFY00002_at": 9.4, "RFY00022_at": 7.0,
                     "RFY00023_at": 8.0, "RFY00037_at": 6.5, "AFFX-BioB-5_at": 10.2}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("^SAMPLE = GSM1\n!Sample_title = x\n", "no !sample_table_begin"),
        (
            "!sample_table_begin\nID\tVAL\n1\t2\n!sample_table_end\n",
            "its table has no ID_REF and VALUE columns",
        ),
        (
            "!sample_table_begin\nID_REF\tVALUE\nA_at\t2\n",
            "its table has no !sample_table_end (cut off?)",
        ),
    ],
)
def test_a_file_without_a_whole_sample_table_is_refused(tmp_path, text, says) -> None:
    path = tmp_path / "GSM1_table.txt"
    path.write_text(text)
    with pytest.raises(MalformedTable, match=re.escape(f"GSM1_table.txt: {says}")):
        read_sample_table(path)


def test_a_probe_to_gene_table_needs_its_header_and_one_gene_per_probe_set(tmp_path) -> None:
    path = tmp_path / "genes.tsv"
    path.write_text("probe_set\tgene\nA_at\tG1\nB_at\tG1\n")
    assert read_probe_genes(path) == {"A_at": "G1", "B_at": "G1"}
    for text, says in [
        ("A_at\tG1\n", "starts with the header"),
        ("probe_set\tgene\nA_at\n", "line 2: needs a probe set and a gene"),
        ("probe_set\tgene\nA_at\tG1\nA_at\tG2\n", "line 3: A_at maps to two genes"),
    ]:
        path.write_text(text)
        with pytest.raises(ValidationError, match=says):
            read_probe_genes(path)


def test_a_gene_is_the_mean_of_its_probe_sets_and_unmapped_probe_sets_are_counted_out() -> None:
    values = ProbeSetValues(
        ["A_at", "B_at", "C_at", "D_at"], ["S1", "S2"],
        np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 5.0], [9.0, 9.0]]),
    )  # fmt: skip
    genes = summarise_to_genes(values, {"A_at": "G2", "B_at": "G2", "C_at": "G1"})
    assert genes.genes == ["G1", "G2"] and genes.samples == ["S1", "S2"]
    assert genes.values.tolist() == [[5.0, 5.0], [2.0, 4.0]]
    assert (genes.probe_sets, genes.probe_sets_mapped, genes.share_mapped) == (4, 3, 0.75)
