"""One helper per job, and concerns kept in few rooms: the rules that can be read off the source.

Each test names the one helper a second copy should call instead. The few places allowed to
do the job by hand say why, next to their path.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("common", "foreman", "workers", "ops")

# Connections whose closing cannot be one `with` block.
LONG_LIVED_CONNECTIONS = {
    "common/db.py": "the one context manager itself",
    "workers/runtime.py": "the attempt's connection, which the error path still needs",
}
# Copies that hash what they write in a loop of their own.
HASHING_COPIES = {
    "common/files.py": "the one hash-while-copying function",
    "ops/db/backups/hashed_copy.py": "the kernel copy's fallback, dropping the source's pages",
    "workers/downloaders/transfer.py": "md5 and sha256 of a resumable download as it arrives",
}
# Packages whose many small modules are one per subject by design.
SMALL_BY_DESIGN = {"ops/runbooks": "one runbook per alarm, named after the alarm"}
SMALL_MODULE_LINES = 40
MAX_SMALL_MODULES = 3  # per package, besides __init__.py and errors.py
MAX_MODULES = 20  # per package


def production_modules() -> list[Path]:
    return sorted(p for area in PRODUCTION for p in (ROOT / area).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _connection_names(function: ast.AST) -> set[str]:
    """Names a function binds to `connect(...)` / `x.connect(...)`."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "connect":
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def hand_closed_connections(tree: ast.Module) -> list[int]:
    """Lines of `finally:` blocks that close a connection the function opened itself."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        names = _connection_names(function)
        for node in ast.walk(function):
            if not isinstance(node, ast.Try):
                continue
            for statement in node.finalbody:
                for call in ast.walk(statement):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "close"
                        and isinstance(call.func.value, ast.Name)
                        and call.func.value.id in names
                    ):
                        found.append(call.lineno)
    return found


def hashing_copy_loops(tree: ast.Module) -> list[int]:
    """Lines of loops that both feed a digest (`.update`) and write what they read."""
    found = []
    for loop in ast.walk(tree):
        if not isinstance(loop, ast.While | ast.For):
            continue
        called = {
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for statement in loop.body
            for node in ast.walk(statement)
            if isinstance(node, ast.Call)
        }
        if "update" in called and called & {"write", "_write_all"}:
            found.append(loop.lineno)
    return found


def test_hand_closed_connection_blocks_are_found():
    tree = ast.parse(
        "def f(env):\n    conn = db.connect(env)\n    try:\n        pass\n"
        "    finally:\n        conn.close()\n"
    )
    assert hand_closed_connections(tree) == [6]


def test_hashing_copy_loops_are_found():
    tree = ast.parse(
        "def f(a, b, digest):\n    while chunk := a.read(9):\n"
        "        digest.update(chunk)\n        b.write(chunk)\n"
    )
    assert hashing_copy_loops(tree) == [2]


def test_connections_are_held_through_common_db_connection():
    offenders = [
        f"{relative(path)}:{line}"
        for path in production_modules()
        if relative(path) not in LONG_LIVED_CONNECTIONS
        for line in hand_closed_connections(parsed(path))
    ]
    assert not offenders, f"use `with common.db.connection(env) as conn:` at {offenders}"


def test_a_copy_is_hashed_as_it_is_made_by_one_function():
    offenders = [
        f"{relative(path)}:{line}"
        for path in production_modules()
        if relative(path) not in HASHING_COPIES
        for line in hashing_copy_loops(parsed(path))
    ]
    assert not offenders, f"use common.files.copy_stream_sha256 at {offenders}"


def test_progress_is_shown_through_ops_progress():
    offenders = [
        f"{relative(path)}:{node.lineno}"
        for path in production_modules()
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.FunctionDef) and node.name in {"_progress", "progress"}
    ]
    assert not offenders, f"hand long work ops.progress.progress_display(): {offenders}"


def test_an_error_becomes_one_line_through_first_line():
    copy = re.compile(r"str\((?:exc|error|err|e)\)[^\n]*\.splitlines\(\)")
    offenders = [
        f"{relative(path)}:{number}"
        for path in production_modules()
        if relative(path) != "common/errors.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if copy.search(line)
    ]
    assert not offenders, f"use common.errors.first_line at {offenders}"


def test_git_runs_through_ops_gitkit():
    allowed = {
        "ops/gitkit.py": "the one git helper",
        "ops/images/settings.py": "the image's revision, read before the area's settings load",
    }
    offenders = [
        relative(path)
        for path in production_modules()
        if relative(path) not in allowed
        and re.search(r"""\[\s*["']git["']\s*,""", path.read_text())
    ]
    assert not offenders, f"run git through ops.gitkit.git: {offenders}"


def test_reports_of_steps_are_step_reports():
    offenders = [
        f"{relative(path)}:{node.name}"
        for path in production_modules()
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(f, ast.FunctionDef) and f.name == "run_step" for f in node.body)
        and "StepReport" not in {getattr(base, "id", "") for base in node.bases}
    ]
    assert not offenders, f"derive from ops.stepreport.StepReport: {offenders}"


def _packages() -> dict[str, list[Path]]:
    packages: dict[str, list[Path]] = {}
    for path in (ROOT / "ops").rglob("*.py"):
        if path.name != "__init__.py":
            packages.setdefault(relative(path.parent), []).append(path)
    return packages


@pytest.mark.parametrize("package", sorted(_packages()))
def test_no_package_splits_one_concern_across_many_small_files(package):
    modules = _packages()[package]
    small = sorted(
        path.name
        for path in modules
        if path.name != "errors.py" and len(path.read_text().splitlines()) < SMALL_MODULE_LINES
    )
    assert len(modules) <= MAX_MODULES, f"{package} has {len(modules)} modules: group them"
    if package not in SMALL_BY_DESIGN:
        assert len(small) <= MAX_SMALL_MODULES, (
            f"{package} has {len(small)} modules under {SMALL_MODULE_LINES} lines ({small}): "
            "fold each into the module a reader would look in"
        )
