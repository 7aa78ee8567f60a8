"""Aggregating gene matrices: ids cleaned, every sample accounted for, nothing half-written.
(Its memory is checked in tests/integration/expression/test_aggregate_memory.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.errors import ValidationError
from workers.processors.expression.aggregate import aggregate_groups
from workers.processors.expression.matrices import read_gene_matrix


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
