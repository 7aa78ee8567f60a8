"""The layout's rules, read from the source itself with `ast`.

- `common/` is the shared core: nothing in it imports `foreman`, `workers` or `ops` (at the
  top of a module or inside a function alike), so everything else may build on it.
- The layers go one way: `foreman` builds on `common` and never imports `workers` (what it
  knows of the applications it dispatches, it reads from their manifests: common/applications.py);
  `workers` on `common` and `foreman` (the job state machine); `ops` on all of them, and nothing
  imports `ops`.
- The areas (`ops/<area>/`) stand on each other, never in a circle: the graph of which area
  imports which (any module of one importing any module of another, anywhere in it) has no
  cycle, however long. What several areas share lives below them (`ops/benchkit.py`…).
- No production function (common/ foreman/ workers/ ops/) has a parameter named `test_*`,
  nor a keyword hook (`*, name=None`) that only tests pass (such as a step table of fakes):
  faults are injected at the boundaries (common/failpoints.py), never through a hook.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from common.environments import REPO_ROOT

PRODUCTION_PACKAGES = ("common", "foreman", "workers", "ops")
NOT_FOR_COMMON = {"foreman", "workers", "ops"}
# What each package may not import (common's rule is the one above).
NOT_FOR = {"common": NOT_FOR_COMMON, "foreman": {"workers", "ops"}, "workers": {"ops"}}


def _modules(*packages: str) -> Iterator[tuple[Path, ast.Module]]:
    for package in packages:
        paths = sorted((REPO_ROOT / package).rglob("*.py"))
        assert len(paths) > 5, f"{package}/ has no modules to check"
        for path in paths:
            yield path, ast.parse(path.read_text(), filename=str(path))


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every absolute import anywhere in `tree`, including
    `importlib.import_module("…")` with a literal name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def forbidden_imports(tree: ast.AST, forbidden: set[str] = NOT_FOR_COMMON) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in imported_modules(tree)
        if name.split(".")[0] in forbidden
    ]


def parameters_named_test(tree: ast.AST) -> list[str]:
    """`function(parameter)` for every parameter named test_* in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            every = [
                *arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                *filter(None, (arguments.vararg, arguments.kwarg)),
            ]  # fmt: skip
            name = getattr(node, "name", "lambda")
            found += [
                f"{name}({a.arg}) line {node.lineno}" for a in every if a.arg.startswith("test_")
            ]
    return found


def test_the_checks_catch_what_they_look_for():
    planted = ast.parse(
        "import ops.tasks\n"
        "def f(x, *, test_hook=None):\n"
        "    from foreman import loop\n"
        "    importlib.import_module('workers.registry')\n"
        "g = lambda test_only: test_only\n"
    )
    assert forbidden_imports(planted) == [
        "line 1: ops.tasks", "line 3: foreman", "line 4: workers.registry",
    ]  # fmt: skip
    assert parameters_named_test(planted) == ["f(test_hook) line 2", "lambda(test_only) line 5"]


def test_nothing_in_common_imports_foreman_workers_or_ops():
    found = {
        str(path.relative_to(REPO_ROOT)): problems
        for path, tree in _modules("common")
        if (problems := forbidden_imports(tree))
    }
    assert found == {}


def test_foreman_and_workers_import_only_the_layers_below_them():
    """No exception: the foreman imports nothing of the workers, anywhere in a module."""
    found = {
        str(path.relative_to(REPO_ROOT)): problems
        for package in ("foreman", "workers")
        for path, tree in _modules(package)
        if (problems := forbidden_imports(tree, NOT_FOR[package]))
    }
    assert found == {}


def test_no_production_function_has_a_test_parameter():
    found = {
        str(path.relative_to(REPO_ROOT)): problems
        for path, tree in _modules(*PRODUCTION_PACKAGES)
        if (problems := parameters_named_test(tree))
    }
    assert found == {}


def area_imports(ops_root: Path = REPO_ROOT / "ops") -> dict[str, dict[str, list[str]]]:
    """{area: {area it imports: [where]}} for the packages under ops/."""
    areas = sorted(p.name for p in ops_root.iterdir() if (p / "__init__.py").is_file())
    graph: dict[str, dict[str, list[str]]] = {area: {} for area in areas}
    for area in areas:
        for path in sorted((ops_root / area).rglob("*.py")):
            for line, name in imported_modules(ast.parse(path.read_text(), filename=str(path))):
                parts = name.split(".")
                if parts[0] == "ops" and len(parts) > 1 and parts[1] in graph and parts[1] != area:
                    graph[area].setdefault(parts[1], []).append(f"{path.name}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected groups of more than one area (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_check_finds_a_long_circle_and_nothing_in_a_chain(tmp_path):
    for area, imports in {"a": "ops.b.x", "b": "ops.c", "c": "ops.a.y", "d": "ops.a"}.items():
        (tmp_path / area).mkdir()
        (tmp_path / area / "__init__.py").write_text("")
        (tmp_path / area / "m.py").write_text(f"def f():\n    import {imports}\n")
    graph = area_imports(tmp_path)
    assert graph["d"] == {"a": ["m.py:2"]}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": []}, "b": {"c": []}, "c": {}}) == []


def test_no_two_areas_import_each_other_in_a_circle():
    graph = area_imports()
    assert len(graph) > 15 and graph["deploy"]  # the areas were found, with their imports
    circles = cycles(graph)
    where = {
        " -> ".join(group): {a: {b: graph[a][b] for b in graph[a] if b in group} for a in group}
        for group in circles
    }
    assert circles == [], where


# Keyword hooks (`*, name=None`) that only tests pass today; each is a way in still to close.
# The list only shrinks: an entry that is no longer found fails the test, so it is removed.
PASSED_BY_TESTS_ALONE = {
    ("workers/processors/expression/aggregate.py", "aggregate_groups", "target"),
    ("workers/processors/expression/aggregate.py", "aggregate_groups", "genes_per_block"),
    ("ops/images/build.py", "build_images", "client"),
    ("ops/lake/check.py", "check_lake", "lake"),
    ("ops/logs/local.py", "read_local_logs", "now"),
    ("ops/analyses/run.py", "request_run", "run_by"),
    ("ops/datasets/bench.py", "run_bench", "workdir"),
    ("workers/processors/expression/targets.py", "target_from_files", "length"),
}


def keyword_hooks(tree: ast.AST) -> Iterator[tuple[str, str]]:
    """(function, parameter) for every keyword-only parameter that defaults to None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for argument, default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
                if isinstance(default, ast.Constant) and default.value is None:
                    yield node.name, argument.arg


def keywords_passed(trees: Iterable[ast.AST]) -> dict[str, set[str]]:
    """{called name: keywords passed to it} over `trees` (`**` when a mapping is spread)."""
    passed: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                passed.setdefault(name, set()).update(k.arg or "**" for k in node.keywords)
    return passed


def hooks_only_tests_pass(
    production: dict[str, ast.AST], tests: Iterable[ast.AST]
) -> set[tuple[str, str, str]]:
    in_production = keywords_passed(production.values())
    in_tests = keywords_passed(tests)
    return {
        (path, function, parameter)
        for path, tree in production.items()
        for function, parameter in keyword_hooks(tree)
        if parameter in in_tests.get(function, ())
        and not {parameter, "**"} & in_production.get(function, set())
    }


def test_the_caller_check_finds_a_hook_only_tests_pass():
    production = {
        "deploy.py": ast.parse(
            "def run_deploy(env, *, dry_run=None, steps=None): ...\n"
            "def task(env): run_deploy(env, dry_run=True)\n"
        )
    }
    tests = [ast.parse("run_deploy(env, steps=fakes)\nrun_deploy(env, dry_run=False)\n")]
    assert hooks_only_tests_pass(production, tests) == {("deploy.py", "run_deploy", "steps")}


def test_no_production_keyword_exists_for_tests_alone():
    # A keyword that only tests pass (a fake step table, a client, a clock) is a production
    # parameter that exists for tests: faults come through failpoints, and a test drives the
    # code the way production does.
    production = {
        str(path.relative_to(REPO_ROOT)): tree for path, tree in _modules(*PRODUCTION_PACKAGES)
    }
    tests = [ast.parse(path.read_text()) for path in sorted((REPO_ROOT / "tests").rglob("*.py"))]
    found = hooks_only_tests_pass(production, tests)
    assert found - PASSED_BY_TESTS_ALONE == set()
    assert PASSED_BY_TESTS_ALONE - found == set(), "closed: take it off PASSED_BY_TESTS_ALONE"
