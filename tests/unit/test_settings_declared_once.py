"""A setting is declared once, in its `common/settings` section, and read from there.

The rule, read from the source with `ast` (common/ foreman/ workers/ ops/, outside
common/settings/):

- no dataclass gives a field the name and the default of a key of a settings section — a
  second declaration of that key (a "shim" that copies a section into an area's own frozen
  dataclass, where the two defaults drift apart unseen);
- no module binds a section schema to another name (`MetadataSettings = MetadataSection`) or
  re-exports one in `__all__`: a reader finds a section under the one name it is declared as.

What an area derives from a section (a path resolved, a fallback to another section) is a
property of the schema or a function of the area; neither copies a key.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

from common.environments import REPO_ROOT
from common.settings import all_sections

PACKAGES = ("common", "foreman", "workers", "ops")
# The one copy left: the backups area's retention policy, which goes with the regrouping of
# ops/db/backups/ into what a backup is, taking, checking and restoring one.
STILL_COPIED = {"ops/db/backups/settings.py"}


def _section_defaults() -> dict[str, set[Any]]:
    """{key: the defaults sections give it} for every key of every section with a default."""
    defaults: dict[str, set[Any]] = {}
    for schema in all_sections().values():
        if not dataclasses.is_dataclass(schema):
            continue
        for field in dataclasses.fields(schema):
            if field.default is not dataclasses.MISSING and isinstance(
                field.default, str | int | float | bool | tuple
            ):
                defaults.setdefault(field.name, set()).add(field.default)
    return defaults


def _section_names() -> set[str]:
    return {schema.__name__ for schema in all_sections().values() if isinstance(schema, type)}


def _production_modules() -> list[tuple[Path, ast.Module]]:
    modules = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "common/settings" not in path.as_posix():
                modules.append((path, ast.parse(path.read_text(), filename=str(path))))
    return modules


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def copied_keys(tree: ast.Module, defaults: dict[str, set[Any]]) -> list[str]:
    """`Class.key = default` of dataclasses in `tree` that repeat a section key's default."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ClassDef) and _is_dataclass(node)):
            continue
        for statement in node.body:
            if not (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.value is not None
            ):
                continue
            try:
                value = ast.literal_eval(statement.value)
            except ValueError:
                continue
            key = statement.target.id
            if key in defaults and value in defaults[key]:
                found.append(f"{node.name}.{key} = {value!r}")
    return found


def section_aliases(tree: ast.Module, sections: set[str]) -> list[str]:
    """Other names for a section schema: `Alias = Section` or the schema in `__all__`."""
    found = []
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if isinstance(node.value, ast.Name) and node.value.id in sections:
            found += [f"{target} = {node.value.id}" for target in targets]
        if "__all__" in targets and isinstance(node.value, ast.List | ast.Tuple):
            exported = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            found += [f"__all__ re-exports {name}" for name in exported if name in sections]
    return found


def test_the_checks_find_a_copied_key_and_an_alias():
    tree = ast.parse(
        "from dataclasses import dataclass\n"
        "@dataclass(frozen=True)\n"
        "class RefreshCopy:\n"
        "    rules: str\n"
        "    keep_old: bool = False\n"
        "    unrelated_knob: int = 7\n"
        "RefreshSettings = RefreshSection\n"
        "__all__ = ['ForemanSettings']\n"
    )
    assert copied_keys(tree, _section_defaults()) == ["RefreshCopy.keep_old = False"]
    assert section_aliases(tree, _section_names()) == [
        "RefreshSettings = RefreshSection",
        "__all__ re-exports ForemanSettings",
    ]


def test_no_dataclass_outside_common_settings_copies_a_section_key():
    defaults = _section_defaults()
    found = {
        str(path.relative_to(REPO_ROOT)): copies
        for path, tree in _production_modules()
        if (copies := copied_keys(tree, defaults))
    }
    assert set(found) <= STILL_COPIED, (
        f"declare the key once in its section and read it from there: {found}"
    )


def test_no_module_gives_a_section_a_second_name():
    sections = _section_names()
    found = {
        str(path.relative_to(REPO_ROOT)): aliases
        for path, tree in _production_modules()
        if (aliases := section_aliases(tree, sections))
    }
    assert found == {}, "import the section under the name it is declared as"
