"""Every section of an environment file is validated when it loads, with one kind of message.

The wrong values are derived from each registered schema (so a section added later is
covered too) and fed through `load_environment`, as a person's typo would be: each must be
refused with ONE line naming the file, the section and the key.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest

from common.environments import (
    ENVIRONMENTS_DIR_VARIABLE,
    REPO_ROOT,
    available_environments,
    load_environment,
)
from common.errors import ConfigError
from common.settings import REQUIRED_SECTIONS, all_sections, validate_section
from common.settings.base import SECTION_MODULES, Bounds, schema_fields
from tests.support.environments import write_environment

BACKEND = {"bucket": "state", "key": "e/x.tfstate", "region": "eu-west-1", "dynamodb_table": "l"}
# The smallest valid table of every section; other sections are valid when empty.
VALID: dict[str, dict[str, Any]] = {
    "database": {"kind": "embedded"},
    "lake": {"backend": "filesystem", "root": "lake"},
    "executor": {"kind": "null"},
    "terraform": {"stack": "infrastructure/stacks/aws", "backend": BACKEND},
    "foreman_host": {
        "hosts": ["foreman.internal"],
        "user": "deploy",
        "key_file": "~/.ssh/key",
        "restart_command": "systemctl restart refinery-foreman",
    },
}
SECTIONS = all_sections()
SCHEMAS = {name: kind for name, kind in SECTIONS.items() if dataclasses.is_dataclass(kind)}


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """(type without Optional/Annotated, constraints found on the way)."""
    constraints: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                constraints.extend(getattr(item, "metadata", None) or [item])
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation, constraints


def _wrong_values(annotation: Any, constraints: list[Any]) -> list[tuple[Any, str, str]]:
    """(value, where inside the key, what the message says) for values the type refuses."""
    base, found = _unwrap(annotation)
    constraints = constraints + found
    cases: list[tuple[Any, str, str]] = []
    origin = get_origin(base)
    if base is bool:
        cases += [("yes", "", "must be true or false"), (1, "", "must be true or false")]
    elif base is int:
        cases += [
            ("5", "", "must be an integer"),
            (True, "", "must be an integer"),
            (1.5, "", "integer"),
        ]
    elif base is float:
        cases += [("5", "", "must be a number"), (False, "", "must be a number")]
    elif base is str:
        cases += [(["x"], "", "must be a string"), (5, "", "must be a string")]
    elif origin is Literal:
        cases += [("no-such-choice", "", "must be one of"), (5, "", "must be one of")]
    elif origin in (list, tuple):
        cases += [(5, "", "must be a list"), ("abc", "", "must be a list")]
        item, item_constraints = _unwrap(get_args(base)[0])
        for value, where, expected in _wrong_values(item, item_constraints):
            cases.append(([value], f"[0]{where}", expected))
    elif origin is dict:
        cases += [(5, "", "must be a table"), (["x"], "", "must be a table")]
        item, item_constraints = _unwrap(get_args(base)[1])
        if item is not Any:
            for value, where, expected in _wrong_values(item, item_constraints):
                cases.append(({"k": value}, f".k{where}", expected))
    elif dataclasses.is_dataclass(base):
        cases += [
            (5, "", "must be a table"),
            ({**_minimal(base), "no_such_key": 1}, ".no_such_key", "unknown key"),
        ]
    for bounds in constraints:
        if not isinstance(bounds, Bounds):
            continue
        if bounds.gt is not None:
            cases += [(bounds.gt, "", "must be"), (bounds.gt - 1, "", "must be")]
        if bounds.ge is not None:
            cases.append((bounds.ge - 1, "", "must be"))
        if bounds.le is not None:
            cases.append((bounds.le + 1, "", "must be at most"))
        if bounds.min_length is not None and base is str:
            cases.append(("", "", "must not be empty"))
        if bounds.min_length is not None and origin in (list, tuple):
            cases.append(([], "", "must not be empty"))
    return cases


def _minimal(schema: Any) -> dict[str, Any]:
    return BACKEND if schema.__name__ == "TerraformBackend" else {}


def _cases() -> list[Any]:
    cases = []
    for name, schema in SCHEMAS.items():
        cases.append(pytest.param(name, {"no_such_key": 1}, "no_such_key", "unknown key"))
        for key, (annotation, field) in schema_fields(schema).items():
            bounds = [field.metadata["bounds"]] if field.metadata.get("bounds") else []
            for value, where, expected in _wrong_values(annotation, bounds):
                cases.append(
                    pytest.param(
                        name, {key: value}, key + where, expected, id=f"{name}.{key}={value!r}"
                    )
                )
    return cases


@pytest.fixture
def env_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def _refusal(env_dir, sections: dict[str, Any]) -> str:
    path = write_environment(
        env_dir, "broken", {**{n: VALID[n] for n in REQUIRED_SECTIONS}, **sections}
    )
    with pytest.raises(ConfigError) as caught:
        load_environment("broken")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    return message


def test_every_section_has_a_minimal_valid_table_here():
    # A section added to common.settings must be added above, so it is fed wrong values too.
    assert set(SCHEMAS) <= set(VALID) | {
        name for name, schema in SCHEMAS.items() if not _required(schema)
    }


def _required(schema: Any) -> list[str]:
    return [
        key
        for key, (_, field) in schema_fields(schema).items()
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]


@pytest.mark.parametrize(("section", "values", "key", "expected"), _cases())
def test_a_wrong_value_is_refused_at_load_naming_file_section_and_key(
    env_dir, section, values, key, expected
):
    message = _refusal(env_dir, {section: {**VALID.get(section, {}), **values}})
    named = f"{section}.{key}"
    assert f" {named} " in message or message.endswith(f" {named}") or f"key {named}" in message
    assert expected in message, message


@pytest.mark.parametrize(
    ("section", "key"),
    [(name, key) for name, schema in SCHEMAS.items() for key in _required(schema)],
)
def test_a_missing_required_key_is_refused_at_load(env_dir, section, key):
    values = {k: v for k, v in VALID[section].items() if k != key}
    message = _refusal(env_dir, {section: values})
    assert f"missing key {section}.{key}" in message


@pytest.mark.parametrize("section", REQUIRED_SECTIONS)
def test_a_missing_required_section_is_refused(env_dir, section):
    sections = {name: VALID[name] for name in REQUIRED_SECTIONS if name != section}
    path = write_environment(env_dir, "broken", sections)
    with pytest.raises(ConfigError, match=rf"^{path}: missing required section \[{section}\]$"):
        load_environment("broken")


def test_an_unknown_section_is_refused_naming_the_known_ones(env_dir):
    message = _refusal(env_dir, {"foremen": {"poll_seconds": 1}})
    assert "unknown section [foremen]" in message and "foreman" in message


def test_a_section_that_is_not_a_table_is_refused(env_dir):
    path = env_dir / "broken.toml"
    path.write_text('schedule = "daily"\n' + _required_tables())
    with pytest.raises(ConfigError, match=rf"^{path}: \[schedule\] must be a table$"):
        load_environment("broken")


def _required_tables() -> str:
    return (
        '[database]\nkind = "embedded"\n[lake]\nbackend = "filesystem"\nroot = "l"\n'
        '[executor]\nkind = "null"\n'
    )


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"executor": {"kind": "local", "queues": 5}}, "executor.queues must be a table"),
        (
            {"executor": {"kind": "local", "memory_tiers_mb": "abc"}},
            "executor.memory_tiers_mb must be a list",
        ),
        ({"executor": {"kind": "local", "concurrency": -3}}, "executor.concurrency must be 0"),
        ({"identity": {"bot_user": ["x"]}}, "identity.bot_user must be a string"),
        ({"identity": {"bot_user": "Robert'); DROP"}}, "identity.bot_user must be a user name"),
        (
            {"executor": {"kind": "local", "queues": {"spot": "many"}}},
            "executor.queues.spot must be an integer",
        ),
        ({"executor": {"kind": "local", "queues": {"spot": 0}}}, "executor.queues.spot must be"),
        ({"lake": {"backend": "s3"}}, "lake.bucket is required for the s3 backend"),
        ({"aws": {"endpoint_url": "ftp://x"}}, "aws.endpoint_url must be an http(s) URL"),
        (
            {"foreman": {"stale_after_seconds": 10, "worker_heartbeat_seconds": 6}},
            "foreman.stale_after_seconds must be at least twice",
        ),
        (
            {"foreman_host": {**VALID["foreman_host"], "hosts": ["h:99999"]}},
            "foreman_host.hosts[0] 'h:99999' has no port",
        ),
        ({"deploy": {"registry": "r"}}, "deploy.registry is no longer read"),
        (
            {"terraform": {**VALID["terraform"], "backend": {**BACKEND, "token": "t"}}},
            "terraform.backend.token is not allowed",
        ),
    ],
)
def test_the_hardening_sweeps_examples_are_refused_at_load(env_dir, sections, expected):
    assert expected in _refusal(env_dir, sections)


def test_every_optional_sections_defaults_are_valid():
    for name, schema in SCHEMAS.items():
        if not _required(schema):
            assert isinstance(validate_section("x.toml", name, {}), schema)


@pytest.mark.parametrize("name", ["local", "sandbox", "staging", "prod"])
def test_every_shipped_environment_loads_and_each_of_its_sections_is_validated(monkeypatch, name):
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    assert name in available_environments()
    env = load_environment(name)
    data = tomllib.loads((REPO_ROOT / f"infrastructure/environments/{name}.toml").read_text())
    for section in data:
        assert section in SECTIONS, section
        assert isinstance(env.settings(section), SECTIONS[section] if section in SCHEMAS else dict)


def test_every_shipped_environment_file_is_covered():
    shipped = {p.stem for p in (REPO_ROOT / "infrastructure/environments").glob("*.toml")}
    assert shipped == {"local", "sandbox", "staging", "prod"}


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "invoke", "jobs.status", "-e", "broken"],
        ["-m", "foreman", "run", "-e", "broken"],
        ["-m", "workers", "run-job", "1", "-e", "broken"],
    ],
)
def test_a_bad_file_stops_every_entry_point_with_one_line_and_exit_2(env_dir, command):
    path = write_environment(
        env_dir,
        "broken",
        {**{n: VALID[n] for n in REQUIRED_SECTIONS}, "executor": {"kind": "local", "queues": 5}},
    )
    result = subprocess.run(
        [sys.executable, *command],
        cwd=REPO_ROOT,
        env={**os.environ, ENVIRONMENTS_DIR_VARIABLE: str(env_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {path}: executor.queues must be a table (got 5)"]


def test_the_index_of_section_modules_names_where_each_section_is_declared():
    assert set(SECTION_MODULES) == set(SECTIONS)
    for name, schema in SCHEMAS.items():
        assert schema.__module__ == f"common.settings.{SECTION_MODULES[name]}", name


def test_loading_an_environment_imports_only_the_modules_of_its_sections():
    # `local` has core sections, [backups]/[schedule] and [datasets]: the job and deployment
    # schemas are not built for a command that never reads them.
    code = (
        "import sys; from common.environments import load_environment; "
        "load_environment('local'); "
        "print(sorted(m for m in sys.modules if m.startswith('common.settings.')))"
    )
    environment = {k: v for k, v in os.environ.items() if k != ENVIRONMENTS_DIR_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=environment,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    loaded = result.stdout.strip()
    assert "common.settings.jobs" not in loaded and "common.settings.deployment" not in loaded
    assert "common.settings.core" in loaded
    assert "common.settings.datasets" in loaded  # local.toml's [datasets], checked at load
