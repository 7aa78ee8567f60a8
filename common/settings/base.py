"""The one settings mechanism: section schemas, their registry, and one-line errors.

Every table of an environment file (`[database]`, `[deploy]`, `[terraform.backend]`…) is
declared once, as a frozen dataclass that lists its keys with their types, defaults, limits
and descriptions (`Field`), and is registered here under its section name. `validate_file`
checks a whole file at load — unknown sections, unknown keys, wrong types, missing keys and
values out of range — and every failure becomes the same kind of `ConfigError`: one line
naming the file, the section and the key. Areas read a validated section as it is (what is
derived from it is a property of the schema) and never re-check what the schema guarantees.

The checking is our own and small on purpose: every `inv` command that takes `-e` loads an
environment, and a validation library's import and model building cost more than such a
command's own work. The types a schema may use are few (strict scalars — TOML has real types,
so `"5"` for a number is a mistake, not something to coerce — Literal choices, lists, tuples,
tables, nested schemas, `X | None`), bounds are `Bounds` in an `Annotated` type or arguments of
`Field`, and rules no type expresses are `field_validator` and `model_validator` methods.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar, Union, get_args, get_origin

from common.errors import ConfigError

# Strict scalar types for schemas: an integer is never a bool or a float; a number (seconds
# may be written 5 or 5.0) is an int or a float, read as a float.
Integer = int
Text = str
Flag = bool
Number = float


class Bounds:
    """Limits on a value: numbers by `gt`/`ge`/`le`/`lt`, strings and lists by `min_length`.

    The mechanism's own small classes are plain classes, not dataclasses: building a
    dataclass costs about a millisecond, paid by every command that loads an environment.
    """

    __slots__ = ("ge", "gt", "le", "lt", "min_length")

    def __init__(
        self,
        *,
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        min_length: int | None = None,
    ) -> None:
        self.gt, self.ge, self.le, self.lt, self.min_length = gt, ge, le, lt, min_length

    def __bool__(self) -> bool:
        return any(
            bound is not None for bound in (self.gt, self.ge, self.le, self.lt, self.min_length)
        )

    def refusal(self, value: Any) -> str | None:
        """Why `value` is out of these bounds, or None."""
        if self.min_length is not None and len(value) < self.min_length:
            return (
                "must not be empty"
                if self.min_length == 1
                else (f"must have at least {self.min_length} items")
            )
        if isinstance(value, str | list | tuple | dict):
            return None
        if self.gt is not None and not value > self.gt:
            return "must be a positive number" if self.gt == 0 else f"must be more than {self.gt}"
        if self.ge is not None and not value >= self.ge:
            return "must be 0 or more" if self.ge == 0 else f"must be at least {self.ge}"
        if self.le is not None and not value <= self.le:
            return f"must be at most {self.le}"
        if self.lt is not None and not value < self.lt:
            return f"must be less than {self.lt}"
        return None


def Field(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    description: str = "",
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    min_length: int | None = None,
) -> Any:
    """One key of a schema: its default (none: required), what it means, and its bounds."""
    bounds = Bounds(gt=gt, ge=ge, le=le, min_length=min_length)
    metadata = {"description": description, "bounds": bounds or None}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


class _FieldCheck:
    """A rule for some keys: a function or classmethod, value -> value (or ValueError)."""

    def __init__(self, keys: tuple[str, ...], check: Any) -> None:
        self.keys, self.check = keys, check


class _SchemaCheck:
    """A rule over a table: `before` a classmethod(table) -> table, `after` a method(self)."""

    def __init__(self, mode: Literal["before", "after"], check: Any) -> None:
        self.mode, self.check = mode, check


def field_validator(*keys: str) -> Callable[[Any], Any]:
    """Decorator: a rule for the keys `keys`, given each validated value, returning it (or
    what it becomes); a ValueError's message is the problem."""
    return lambda check: _FieldCheck(keys, check)


def model_validator(*, mode: Literal["before", "after"]) -> Callable[[Any], Any]:
    """Decorator: a rule over the whole table — `before` given the table as written,
    `after` given the built schema; a SettingProblem names the key at fault."""
    return lambda check: _SchemaCheck(mode, check)


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
# for free-form tables such as [outputs]), filled as the declaring modules are imported.
SECTIONS: dict[str, Any] = {}
# Section name -> the module of this package that declares it. Loading an environment imports
# only the modules of the sections its file has (each schema built is time a quick command
# pays); a unit test holds this index to the declarations.
SECTION_MODULES = {
    **dict.fromkeys(("database", "lake", "executor", "aws", "logs", "identity"), "core"),
    **dict.fromkeys(
        (
            "foreman",
            "pipeline",
            "ena",
            "geo",
            "arrayexpress",
            "arrays",
            "download",
            "workers",
            "rnaseq",
            "routing",
            "batch",
        ),
        "jobs",
    ),
    **dict.fromkeys(
        ("backups", "schedule", "images", "outputs", "metadata", "refresh"), "operations"
    ),
    **dict.fromkeys(("deploy", "terraform", "foreman_host"), "deployment"),
    "datasets": "datasets",
}
REQUIRED_SECTIONS = ("database", "lake", "executor")
# Top-level keys that are not tables.
TOP_LEVEL_KEYS = {"name": str}

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


def schema_of(name: str) -> Any | None:
    """The schema of section `name` (its module imported on first use), None if unknown."""
    if name not in SECTIONS and name in SECTION_MODULES:
        importlib.import_module(f"common.settings.{SECTION_MODULES[name]}")
    return SECTIONS.get(name)


def all_sections() -> dict[str, Any]:
    """Every section's schema, all modules imported: {name: schema}."""
    for name in SECTION_MODULES:
        schema_of(name)
    return dict(SECTIONS)


def validate_section(path: Path | str, name: str, values: Any) -> Any:
    """The table `values` of section `name` validated into its schema, or a ConfigError."""
    kind = schema_of(name)
    if kind is None:
        raise ConfigError(
            f"{path}: unknown section [{name}] (known: {', '.join(sorted(SECTION_MODULES))})"
        )
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path}: [{name}] must be a table")
    problems: list[_Problem] = []
    try:
        return _convert(kind, dict(values), (), problems)
    except _Refused:
        raise ConfigError(f"{path}: {describe(name, problems)}") from None


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


# -- checking ------------------------------------------------------------------------------------


class _Problem:
    def __init__(self, loc: tuple[str | int, ...], text: str, missing: bool = False) -> None:
        self.loc, self.text, self.missing = loc, text, missing


class _Refused(Exception):
    """Internal: the value at hand was refused (its problems are recorded)."""


_NONE = type(None)


@functools.cache
def schema_fields(schema: type) -> dict[str, tuple[Any, dataclasses.Field[Any]]]:
    """{key: (its type, Annotated kept; its dataclass field)} of a schema, in order."""
    hints = typing.get_type_hints(schema, include_extras=True)
    return {field.name: (hints[field.name], field) for field in dataclasses.fields(schema)}


@functools.cache
def _checks(schema: type) -> tuple[dict[str, list[Any]], list[Any], list[Any]]:
    """(key -> its field rules, before-rules, after-rules), bound to `schema`."""
    by_key: dict[str, list[Any]] = {}
    before: list[Any] = []
    after: list[Any] = []
    for klass in reversed(schema.__mro__):
        for attribute in vars(klass).values():
            if isinstance(attribute, _FieldCheck):
                for key in attribute.keys:
                    by_key.setdefault(key, []).append(_bound(attribute.check, schema))
            elif isinstance(attribute, _SchemaCheck):
                target = before if attribute.mode == "before" else after
                target.append(attribute.check)
    return by_key, before, after


def _bound(check: Any, schema: type) -> Callable[[Any], Any]:
    return check.__get__(None, schema) if isinstance(check, classmethod) else check


def _convert(kind: Any, value: Any, loc: tuple[str | int, ...], problems: list[_Problem]) -> Any:
    """`value` read as `kind`; a refusal is recorded in `problems` and raises _Refused."""
    origin = get_origin(kind)
    if origin is Annotated:
        inner, *extras = get_args(kind)
        converted = _convert(inner, value, loc, problems)
        for bounds in extras:
            if isinstance(bounds, Bounds):
                _within(bounds, converted, loc, problems)
        return converted
    if origin in (Union, types.UnionType):
        if value is None and _NONE in get_args(kind):
            return None
        options = [option for option in get_args(kind) if option is not _NONE]
        return _convert(options[0], value, loc, problems)
    if kind is Any:
        return value
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, loc, problems)
    if origin is Literal:
        choices = get_args(kind)
        if not any(type(value) is type(choice) and value == choice for choice in choices):
            listed = ", ".join(repr(choice) for choice in choices)
            _refuse(problems, loc, f"must be one of {listed}{_got(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            _refuse(problems, loc, f"must be a list{_got(value)}")
        items = _each(get_args(kind)[0], enumerate(value), loc, problems)
        return tuple(items.values()) if origin is tuple else list(items.values())
    if origin is dict:
        if not isinstance(value, Mapping):
            _refuse(problems, loc, f"must be a table{_got(value)}")
        key_kind, value_kind = get_args(kind)
        for key in value:
            _convert(key_kind, key, (*loc, key), problems)
        return _each(value_kind, value.items(), loc, problems)
    return _scalar(kind, value, loc, problems)


def _each(kind: Any, pairs: Any, loc: tuple[str | int, ...], problems: list[_Problem]) -> Any:
    """{key: item read as `kind`} for the (key, item) `pairs`, every item tried."""
    result, refused = {}, False
    for key, item in pairs:
        try:
            result[key] = _convert(kind, item, (*loc, key), problems)
        except _Refused:
            refused = True
    if refused:
        raise _Refused
    return result


_SCALARS: dict[type, tuple[Callable[[Any], bool], str]] = {
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "must be an integer"),
    float: (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "must be a number"),
    str: (lambda v: isinstance(v, str), "must be a string"),
    bool: (lambda v: isinstance(v, bool), "must be true or false"),
}


def _scalar(kind: Any, value: Any, loc: tuple[str | int, ...], problems: list[_Problem]) -> Any:
    accepts, expectation = _SCALARS[kind]
    if not accepts(value):
        _refuse(problems, loc, f"{expectation}{_got(value)}")
    return float(value) if kind is float else value


def _within(
    bounds: Bounds, value: Any, loc: tuple[str | int, ...], problems: list[_Problem]
) -> None:
    refusal = bounds.refusal(value)
    if refusal:
        _refuse(problems, loc, refusal + ("" if refusal == "must not be empty" else _got(value)))


def _build(schema: Any, table: Any, loc: tuple[str | int, ...], problems: list[_Problem]) -> Any:
    """The schema built from `table`: every key checked, then the schema's own rules."""
    if not isinstance(table, Mapping):
        _refuse(problems, loc, f"must be a table{_got(table)}")
    fields = schema_fields(schema)
    by_key, before, after = _checks(schema)
    try:
        for check in before:
            table = _bound(check, schema)(dict(table))
    except SettingProblem as problem:
        _refuse(problems, (*loc, problem.key), problem.problem)
    start = len(problems)
    values = {}
    for key, (kind, field) in fields.items():
        if key not in table:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                problems.append(_Problem((*loc, key), "", missing=True))
            continue
        try:
            value = _convert(kind, table[key], (*loc, key), problems)
            if field.metadata.get("bounds"):
                _within(field.metadata["bounds"], value, (*loc, key), problems)
            for check in by_key.get(key, ()):
                value = _checked(check, value, (*loc, key), problems)
        except _Refused:
            continue
        values[key] = value
    for key in table:
        if key not in fields:
            allowed = f" (allowed: {', '.join(fields)})"
            problems.append(_Problem((*loc, key), f"unknown key{allowed}"))
    if len(problems) > start:
        raise _Refused
    built = schema(**values)
    for check in after:
        built = _checked(check, built, loc, problems)
    return built


def _checked(check: Callable[[Any], Any], value: Any, loc: tuple[str | int, ...],
             problems: list[_Problem]) -> Any:  # fmt: skip
    try:
        return check(value)
    except SettingProblem as problem:
        _refuse(problems, (*loc, problem.key), problem.problem)
    except ValueError as error:
        _refuse(problems, loc, str(error))


def _refuse(problems: list[_Problem], loc: tuple[str | int, ...], text: str) -> typing.NoReturn:
    problems.append(_Problem(loc, text))
    raise _Refused


# -- one-line messages -------------------------------------------------------------------------


def describe(name: str, problems: list[_Problem]) -> str:
    """One line for the problems of section `name`: the first, named by key."""
    missing = [problem for problem in problems if problem.missing]
    if missing and len(missing) == len(problems):
        keys = ", ".join(_key(name, problem.loc) for problem in missing)
        return f"missing key{'s' if len(missing) > 1 else ''} {keys}"
    first = problems[0]
    if first.missing:
        text = f"missing key {_key(name, first.loc)}"
    elif first.text.startswith("unknown key"):
        text = f"unknown key {_key(name, first.loc)}{first.text.removeprefix('unknown key')}"
    else:
        text = f"{_key(name, first.loc)} {first.text}"
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return text


def _key(name: str, loc: tuple[Any, ...]) -> str:
    text = name
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _got(value: Any) -> str:
    if isinstance(value, bool | int | float | str) or value is None:
        text = repr(value)
        return f" (got {text[:40]}{'…' if len(text) > 40 else ''})"
    return ""
