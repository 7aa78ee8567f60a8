"""Aggregating gene matrices: ids cleaned, every sample accounted for, nothing half-written.
(Its memory is checked in tests/integration/expression/test_aggregate_memory.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.errors import ValidationError
from common.failpoints import VARIABLE, FailpointError
from workers.processors.expression.aggregate import aggregate_groups
from workers.processors.expression.matrices import read_gene_matrix, write_block


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_version_suffixes_are_stripped_and_duplicate_ids_averaged(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "e.tsv",
        "Gene\ta\tb\nENSG2.3\t1\t\nENSG1.1\t2\t4\nENSG2.4\t3\t6\n ENSG3 \tNA\t8\n",
    )
    matrix = read_gene_matrix(path)
    assert matrix.genes.tolist() == ["ENSG1", "ENSG2", "ENSG3"]
    assert matrix.samples == ["a", "b"]
    expected = np.array([[2.0, 4.0], [2.0, 6.0], [np.nan, 8.0]])  # b's ENSG2: only 6 present
    assert np.array_equal(matrix.values, expected, equal_nan=True)


def test_every_sample_is_in_the_matrix_or_left_out_with_its_reason(tmp_path: Path) -> None:
    one = _write(tmp_path / "one.tsv", "Gene\ta\tb\nG1\t1\t\nG2\t2\t\n")
    two = _write(tmp_path / "two.tsv", "Gene\ta\tc\nG2\t5\t7\nG3\t6\t8\n")
    (result,) = aggregate_groups({"grp": [one, two]}, tmp_path / "out")
    assert result.samples == ["a", "c"]
    assert result.left_out == {"b": "no values in one.tsv", "a (two.tsv)": "already in one.tsv"}
    assert result.path == tmp_path / "out" / "grp" / "grp.tsv"
    assert result.path.read_text() == "Gene\ta\tc\nG1\t1.0\t\nG2\t2.0\t7.0\nG3\t\t8.0\n"
    assert sorted(p.name for p in result.path.parent.iterdir()) == ["grp.tsv"]  # no scratch


def test_a_bad_file_fails_with_its_name_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.tsv", "Gene\ta\nG1\t1\n")
    bad = _write(tmp_path / "bad.tsv", "Gene\tb\nG1\tnot-a-number\n")
    with pytest.raises(ValidationError, match=r"bad\.tsv"):
        aggregate_groups({"grp": [good, bad]}, tmp_path / "out")
    assert list((tmp_path / "out" / "grp").iterdir()) == []
    headless = _write(tmp_path / "headless.tsv", "id\ta\nG1\t1\n")
    with pytest.raises(ValidationError, match="starts with a 'Gene' column"):
        aggregate_groups({"grp": [headless]}, tmp_path / "out")


def test_a_failure_mid_write_leaves_neither_the_matrix_nor_its_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(f"G{number}\t{number}\n" for number in range(10))
    one = _write(tmp_path / "one.tsv", "Gene\ta\n" + rows)
    monkeypatch.setenv(VARIABLE, "datasets.matrix.block_written=error@2")
    with pytest.raises(FailpointError):
        aggregate_groups({"grp": [one]}, tmp_path / "out", genes_per_block=3)
    assert list((tmp_path / "out" / "grp").iterdir()) == []
    monkeypatch.delenv(VARIABLE)
    (result,) = aggregate_groups({"grp": [one]}, tmp_path / "out", genes_per_block=3)
    assert result.path.read_text().count("\n") == 11


def test_one_matrix_per_group_and_group_names_that_cannot_be_folders_refused(
    tmp_path: Path,
) -> None:
    one = _write(tmp_path / "one.tsv", "Gene\ta\nG1\t1\n")
    two = _write(tmp_path / "two.tsv", "Gene\tb\nG2\t2\n")
    results = aggregate_groups({"E1": [one], "E2": [two]}, tmp_path / "out")
    assert [(r.group, r.samples) for r in results] == [("E1", ["a"]), ("E2", ["b"])]
    assert (tmp_path / "out" / "E2" / "E2.tsv").read_text() == "Gene\tb\nG2\t2.0\n"
    for name in ("", "../up", ".hidden"):
        with pytest.raises(ValidationError, match="cannot name a group's folder"):
            aggregate_groups({name: [one]}, tmp_path / "out")


def test_written_numbers_read_back_as_the_same_doubles(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    values = rng.normal(size=(50, 4)) * 10.0 ** rng.integers(-12, 12, size=(50, 4))
    values[3, 2] = np.nan
    path = tmp_path / "m.tsv"
    with path.open("wb") as handle:
        genes = np.array([f"G{number:02d}" for number in range(50)])
        write_block(handle, genes, list("abcd"), values, header=True)
    back = read_gene_matrix(path)
    assert np.array_equal(back.values, values, equal_nan=True)
