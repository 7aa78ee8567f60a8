"""Reading an ArrayExpress experiment from BioStudies' answers: the study JSON, the MAGE-TAB
sample table, which assays are catalogued with which file, and why the others are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import ValidationError
from common.settings.jobs import ArrayExpressSettings
from workers.surveyors.arrayexpress import (
    assay_run,
    file_url,
    looks_like_experiment,
    parse_sample_table,
    parse_study,
    validate_experiment_accession,
)

FIXTURES = Path(__file__).parents[2] / "integration/arrays/fixtures"
STUDY = "E-MTAB-9001"
SETTINGS = ArrayExpressSettings(base_url="http://127.0.0.1:9/biostudies")


def _study():
    return parse_study(json.loads((FIXTURES / f"{STUDY}.json").read_text()), STUDY)


def _assays():
    return {a.name: a for a in parse_sample_table((FIXTURES / f"{STUDY}.sdrf.txt").read_text())}


def test_the_study_json_gives_title_organism_designs_and_files() -> None:
    study = _study()
    assert study.title.startswith("Liver response") and study.organism == "Mus musculus"
    assert study.study_type == "transcription profiling by array"
    assert study.designs == {
        "A-AFFY-9001": "Affymetrix synthetic test chip [RFY-Test1]",
        "A-AGIL-28": "Agilent Whole Mouse Genome Microarray 4x44K G4122F",
    }
    assert study.files["ctrl1.CEL.gz"] == "Raw Data"
    assert study.files["processed7.txt"] == "Processed Data"
    assert study.sample_table == f"{STUDY}.sdrf.txt"


def test_the_sample_table_gives_each_assay_its_design_and_files() -> None:
    assays = _assays()
    assert list(assays) == ["ctrl1", "ctrl2", "ctrl3", "trt1", "trt2", "trt3", "agilent1",
                            "processed7", "zipped8", "nodesign9"]  # fmt: skip
    ctrl1 = assays["ctrl1"]
    assert (ctrl1.source, ctrl1.organism, ctrl1.design, ctrl1.raw_file) == (
        "liver ctrl1", "Mus musculus", "A-AFFY-9001", "ctrl1.CEL.gz"
    )  # fmt: skip
    assert ctrl1.characteristics["treatment"] == "control"
    assert assays["processed7"].processed_file == "processed7.txt"


def test_an_affymetrix_assay_with_a_listed_cel_file_is_an_array_with_that_file() -> None:
    run, reason = assay_run(_study(), _assays()["trt2"], SETTINGS)
    assert reason == "" and run is not None
    assert (run.project, run.experiment, run.sample, run.platform) == (
        STUDY, f"{STUDY}-trt2", "liver trt2", "A-AFFY-9001"
    )  # fmt: skip
    (file,) = run.files
    assert file.source_url == "http://127.0.0.1:9/biostudies/files/E-MTAB-9001/trt2.CEL.gz"
    assert run.metadata["array"] == {
        "platform": "A-AFFY-9001", "manufacturer": "Affymetrix", "raw": "CEL",
        "title": "Affymetrix synthetic test chip [RFY-Test1]", "chip": "RFY-Test1",
    }  # fmt: skip


def test_an_assay_with_only_a_processed_table_is_catalogued_with_it_to_keep() -> None:
    run, _ = assay_run(_study(), _assays()["processed7"], SETTINGS)
    assert run is not None and run.metadata["array"]["raw"] == "processed"
    assert [f.name for f in run.files] == ["processed7.txt"]


@pytest.mark.parametrize(
    ("assay", "expected"),
    [
        ("agilent1", "its platform A-AGIL-28 (Agilent Whole Mouse Genome Microarray 4x44K "
                     "G4122F) is not known to be an Affymetrix array"),
        ("zipped8", "its raw file zipped8.CEL is not among the study's files"),
        ("nodesign9", "the sample table names no array design for it"),
    ],
)  # fmt: skip
def test_an_assay_that_cannot_be_processed_is_not_catalogued_and_says_why(
    assay: str, expected: str
) -> None:
    run, reason = assay_run(_study(), _assays()[assay], SETTINGS)
    assert run is None and reason.startswith(expected), reason


@pytest.mark.parametrize("text", ["E-MTAB", "E-MTAB-12a", "E-MT-1", "E-MTAB-١٢٣", "GSE1"])
def test_text_that_is_not_an_experiment_accession_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="not an ArrayExpress experiment accession"):
        validate_experiment_accession(text)


def test_accessions_are_upper_cased_and_files_quoted() -> None:
    assert validate_experiment_accession(" e-geod-1234 ") == "E-GEOD-1234"
    assert looks_like_experiment("e-mtab-1") and not looks_like_experiment("ERR123")
    assert file_url("http://h/b/", STUDY, "a b.CEL") == "http://h/b/files/E-MTAB-9001/a%20b.CEL"


def test_an_answer_that_is_not_a_study_is_a_job_error() -> None:
    from common.errors import JobError

    with pytest.raises(JobError, match="holds no study section"):
        parse_study({"accno": STUDY}, STUDY)
