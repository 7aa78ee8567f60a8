"""The one settings mechanism: section schemas, their registry, and one-line errors.

Every table of an environment file (`[database]`, `[deploy]`, `[terraform.backend]`…) is
declared once, as a pydantic dataclass that lists its keys with their types, defaults,
limits and descriptions, and is registered here under its section name. `validate_file` checks
a whole file at load — unknown sections, unknown keys, wrong types, missing keys and values out
of range — and every failure becomes the same kind of `ConfigError`: one line naming the file,
the section and the key. Areas turn a validated section into whatever they need (paths
resolved, other sections consulted) but never re-check what the schema already guarantees.

pydantic does the checking: it reports every problem with its location in the table, which
is what a one-line message needs, and its dataclasses keep the positional construction and
equality the rest of the code relies on. Scalars are strict (TOML has real types, so `"5"`
for a number is a mistake, not something to coerce).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TypeVar, Union, get_args, get_origin

from pydantic import (
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from common.errors import ConfigError

# Every schema refuses keys it does not declare; dataclasses keep attribute access and `==`.
SCHEMA_CONFIG = ConfigDict(extra="forbid")


def _number(value: Any) -> Any:
    """Integers and floats are numbers; true/false and strings are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return float(value)


# Strict scalar types for schemas (a number of seconds may be written 5 or 5.0).
Integer = StrictInt
Text = StrictStr
Flag = StrictBool
Number = Annotated[float, BeforeValidator(_number)]


class SettingProblem(ValueError):
    """A rule no type expresses (`root` is required for the filesystem backend…), raised by
    a schema's validator; `key` names the offending key within the section."""

    def __init__(self, key: str | int, problem: str) -> None:
        super().__init__(f"{key} {problem}")
        self.key = key
        self.problem = problem


class Section:
    """Mixin of every registered schema: `Schema.for_environment(env)` is its validated
    section of `env` (defaults when the file has no such table)."""

    section_name: ClassVar[str]

    @classmethod
    def for_environment(cls, env: Any) -> Self:
        return env.settings(cls.section_name)


# Section name -> the type its table validates into (a Section dataclass, or a mapping type
# for free-form tables such as [outputs]).
SECTIONS: dict[str, Any] = {}
REQUIRED_SECTIONS = ("database", "lake", "executor")
# Top-level keys that are not tables.
TOP_LEVEL_KEYS = {"name": str}
_ADAPTERS: dict[str, TypeAdapter] = {}

S = TypeVar("S")


def section(name: str) -> Callable[[type[S]], type[S]]:
    """Class decorator: register `cls` as the schema of the table `[name]`."""

    def register(cls: type[S]) -> type[S]:
        if name in SECTIONS:
            raise RuntimeError(f"section [{name}] is declared twice")
        cls.section_name = name  # type: ignore[attr-defined]
        SECTIONS[name] = cls
        return cls

    return register


def register_table(name: str, kind: Any) -> None:
    """Register a free-form table (a mapping type) under `name`."""
    if name in SECTIONS:
        raise RuntimeError(f"section [{name}] is declared twice")
    SECTIONS[name] = kind


def validate_section(path: Path | str, name: str, values: Any) -> Any:
    """The table `values` of section `name` validated into its schema, or a ConfigError."""
    kind = SECTIONS.get(name)
    if kind is None:
        raise ConfigError(
            f"{path}: unknown section [{name}] (known: {', '.join(sorted(SECTIONS))})"
        )
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path}: [{name}] must be a table")
    adapter = _ADAPTERS.get(name)
    if adapter is None:
        adapter = _ADAPTERS[name] = TypeAdapter(kind)
    try:
        return adapter.validate_python(dict(values))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(name, kind, exc)}") from None


def validate_file(path: Path | str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every section of a parsed environment file, validated: {name: schema instance}.

    A section the file does not have is not in the result; reading it gives the schema's
    defaults, which are valid by construction (a unit test validates each from an empty table).
    """
    for name in REQUIRED_SECTIONS:
        if name not in data:
            raise ConfigError(f"{path}: missing required section [{name}]")
    for key, kind in TOP_LEVEL_KEYS.items():
        if key in data and not isinstance(data[key], kind):
            raise ConfigError(f"{path}: {key} must be a string")
    validated = {}
    for name, values in data.items():
        if name in TOP_LEVEL_KEYS:
            continue
        validated[name] = validate_section(path, name, values)
    return validated


# -- one-line messages -------------------------------------------------------------------------

_KINDS = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a table",
    "dataclass_type": "must be a table",
    "dataclass_exact_type": "must be a table",
    "model_type": "must be a table",
}
_UNKNOWN = {"extra_forbidden", "unexpected_keyword_argument"}


def describe(name: str, kind: Any, exc: ValidationError) -> str:
    """One line for a ValidationError of section `name`: the first problem, named by key."""
    errors = exc.errors(include_url=False)
    missing = [error for error in errors if error["type"] in ("missing", "missing_argument")]
    if missing and len(missing) == len(errors):
        keys = ", ".join(_key(name, error["loc"]) for error in missing)
        return f"missing key{'s' if len(missing) > 1 else ''} {keys}"
    first = errors[0]
    text = _problem(name, kind, first)
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def _key(name: str, loc: tuple[Any, ...]) -> str:
    text = name
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _problem(name: str, kind: Any, error: Any) -> str:
    loc = tuple(error["loc"])
    kind_of_error = error["type"]
    ctx = error.get("ctx") or {}
    if kind_of_error in _UNKNOWN:
        allowed = _allowed_keys(kind, loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {_key(name, loc)}{hint}"
    if kind_of_error in ("missing", "missing_argument"):
        return f"missing key {_key(name, loc)}"
    if kind_of_error in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, SettingProblem):
            return f"{_key(name, (*loc, cause.key))} {cause.problem}"
        return f"{_key(name, loc)} {cause or error['msg']}"
    return f"{_key(name, loc)} {_expectation(kind_of_error, ctx, error)}{_got(error)}"


def _expectation(kind_of_error: str, ctx: dict[str, Any], error: Any) -> str:
    if kind_of_error in _KINDS:
        return _KINDS[kind_of_error]
    if kind_of_error == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind_of_error == "greater_than":
        return (
            "must be a positive number" if ctx.get("gt") == 0 else f"must be more than {ctx['gt']}"
        )
    if kind_of_error == "greater_than_equal":
        return "must be 0 or more" if ctx.get("ge") == 0 else f"must be at least {ctx['ge']}"
    if kind_of_error == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind_of_error == "less_than":
        return f"must be less than {ctx['lt']}"
    if kind_of_error in ("too_short", "string_too_short"):
        return "must not be empty" if ctx.get("min_length") == 1 else error["msg"].lower()
    if kind_of_error == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}"
    return str(error["msg"])[:1].lower() + str(error["msg"])[1:]


def _got(error: Any) -> str:
    value = error.get("input")
    if isinstance(value, bool | int | float | str) or value is None:
        text = repr(value)
        return f" (got {text[:40]}{'…' if len(text) > 40 else ''})"
    return ""


def _allowed_keys(kind: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys the (possibly nested) schema at `loc` declares, for an unknown-key hint."""
    for part in loc:
        fields = getattr(kind, "__pydantic_fields__", None)
        if not fields or part not in fields:
            return []
        kind = _schema_of(fields[part].annotation)
    return list(getattr(kind, "__pydantic_fields__", None) or ())


def _schema_of(annotation: Any) -> Any:
    """The schema inside an annotation (`Backend | None` -> Backend), else None."""
    if dataclasses.is_dataclass(annotation):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, Annotated):
        for arg in get_args(annotation):
            if dataclasses.is_dataclass(arg):
                return arg
    return None
