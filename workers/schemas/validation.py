"""Versioned import schemas: what a sample sheet row or a metadata record must look like.

Each kind of import (`sample_sheet`, `metadata_record`) has one JSON Schema file per version,
`workers/schemas/<kind>/v<N>.json`, validated with the `jsonschema` library. Versions are never
edited once data was imported under them: a change is a new file, so anything imported under
v1 still reads, and validates, as v1 after v2 exists. Every import records the version it
followed (catalog table `imports`).

Two keywords of our own ride along in the schemas (JSON Schema ignores unknown keywords):
`x-problem` is the phrase a failing value gets ("may only hold letters, digits, . _ -"), and
`x-metadata` says whether a field describes the `individual` or the `sample`.

Validation collects every problem of every row before anything is refused, so a person fixes
a sheet in one pass rather than one error per run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from common.errors import ValidationError
from common.inputs import is_digits

SCHEMAS_DIR = Path(__file__).resolve().parent
KINDS = ("sample_sheet", "metadata_record")
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input: where (line or record, field) and what."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.message}"


class SchemaValidationError(ValidationError):
    """Input that breaks its schema; carries every problem, and says them all on one line."""

    def __init__(self, subject: str, problems: Iterable[Problem]) -> None:
        self.subject = subject
        self.problems = list(problems)
        count = len(self.problems)
        listed = "; ".join(str(problem) for problem in self.problems)
        if count == 1:
            super().__init__(f"{subject}: {listed}")
        else:
            super().__init__(f"{subject}: {count} problems: {listed}")


def versions(kind: str) -> list[int]:
    """Every version of `kind` kept in the repository, oldest first."""
    if kind not in KINDS:
        raise ValidationError(f"unknown import kind {kind!r} (known: {', '.join(KINDS)})")
    found = []
    for path in (SCHEMAS_DIR / kind).glob("v*.json"):
        if match := _VERSION_FILE.match(path.name):
            found.append(int(match.group(1)))
    return sorted(found)


def latest_version(kind: str) -> int:
    return versions(kind)[-1]


def check_version(kind: str, version: int | str) -> int:
    """`version` as an int when `kind` has it; an unknown version is refused by name."""
    known = versions(kind)
    text = str(version).strip().removeprefix("v")
    if not is_digits(text) or int(text) not in known:
        listed = ", ".join(str(v) for v in known)
        raise ValidationError(f"unknown {kind} schema version {version!r} (known: {listed})")
    return int(text)


@cache
def load_schema(kind: str, version: int) -> dict[str, Any]:
    """The schema document of `kind` version `version` (checked against its metaschema)."""
    version = check_version(kind, version)
    schema = json.loads((SCHEMAS_DIR / kind / f"v{version}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(kind: str, version: int) -> Draft202012Validator:
    schema = load_schema(kind, version)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def fields(kind: str, version: int) -> list[str]:
    """Every field the version knows, in the schema's order."""
    return list(load_schema(kind, version)["properties"])


def required_fields(kind: str, version: int) -> list[str]:
    return list(load_schema(kind, version).get("required", []))


def metadata_level(kind: str, version: int, field: str) -> str:
    """`individual`, `sample` or '' (a field that is not stored as metadata)."""
    return str(load_schema(kind, version)["properties"].get(field, {}).get("x-metadata", ""))


def without_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Empty fields count as absent: spreadsheets and REDCap export them as ''."""
    cleaned = {}
    for key, value in values.items():
        text = value.strip() if isinstance(value, str) else value
        if text not in ("", None):
            cleaned[key] = text
    return cleaned


def problems_in(
    kind: str,
    version: int,
    values: dict[str, Any],
    *,
    where: str,
    ignore_fields: Iterable[str] = (),
) -> list[Problem]:
    """Every way `values` (empty fields already dropped) breaks the schema, or []."""
    skip = set(ignore_fields)
    found = []
    for error in _validator(kind, check_version(kind, version)).iter_errors(values):
        if error.validator == "required":
            for name in error.validator_value:
                if name not in error.instance and name not in skip:
                    found.append(Problem(where, name, f"{name} is empty"))
            continue
        field = str(error.path[0]) if error.path else ""
        if field in skip:
            continue
        if error.validator == "additionalProperties":
            for name in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                found.append(Problem(where, name, f"unknown field {name!r}"))
            continue
        hint = error.schema.get("x-problem")
        value = error.instance
        text = f"{field} {value!r} {hint}" if hint else f"{field}: {error.message}"
        found.append(Problem(where, field, text))
    return sorted(set(found), key=lambda p: (fields_order(kind, version, p.field), p.message))


def fields_order(kind: str, version: int, field: str) -> int:
    names = fields(kind, version)
    return names.index(field) if field in names else len(names)
