"""Numbers are ASCII digits everywhere: `str.isdigit()` and a `\\d` pattern without re.ASCII
say yes to `２`, `²` and `٣`, and `int()` then reads them as numbers."""

from __future__ import annotations

import ast
import re

import pytest

from common.environments import REPO_ROOT
from common.errors import ValidationError
from common.inputs import is_digits, parse_int
from workers.schemas import validation as schemas
from workers.surveyors.delivery import sheet_schema_version

PACKAGES = ("common", "foreman", "workers", "ops")


def _sources():
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            yield path.relative_to(REPO_ROOT), ast.parse(path.read_text())


def test_no_code_asks_isdigit_outside_the_one_helper():
    found = [
        f"{path}:{node.lineno}"
        for path, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("isdigit", "isdecimal", "isnumeric")
        and str(path) != "common/inputs.py"
    ]
    assert found == []


def test_every_pattern_with_a_digit_class_is_ascii():
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "compile" or not node.args:
                continue
            pattern = node.args[0]
            if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)):
                continue
            flags = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
            if "\\d" in pattern.value and "ASCII" not in flags:
                found.append(f"{path}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("text", ["２", "²", "٣", "1２"])
def test_other_digits_are_not_numbers(text):
    assert text.isdigit() and not is_digits(text)
    with pytest.raises(ValidationError):
        parse_int(text, "--limit")
    with pytest.raises(ValidationError, match="unknown metadata_record schema version"):
        schemas.check_version("metadata_record", text)
    with pytest.raises(ValidationError, match="unknown sample_sheet schema version"):
        sheet_schema_version(f"# schema_version: {text}\nproject,sample_id\n")


def test_ascii_versions_still_read():
    assert is_digits("2") and schemas.check_version("sample_sheet", "2") == 2
    assert sheet_schema_version("# schema_version: 2\nproject\n") == 2
    assert re.compile(r"\d", re.ASCII).fullmatch("２") is None
