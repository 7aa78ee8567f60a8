"""Every command in the README's task tables is run by some test through a real `inv` process
with valid input — not only through the function behind it.

The tests are read, not run: a test runs a task when it calls a helper that starts `inv` in a
subprocess (`tests/support/inv.py`'s `run_inv`, or one of the older helpers this finds by
what they do: a function that starts a subprocess whose argv holds the `inv` executable or
`-m invoke` and the function's own `*args`, and any function that passes its `*args` on to
one) with the task's name as its first argument, or spells such an argv out itself; and the
lines of the README's "Rehearse a release" walkthrough count too, since
tests/acceptance/sandbox/test_whole_loop.py runs them as written. Whether
the input is valid is the business of that test's assertions; this one proves no task is
left to the function-only tests.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

from common.environments import REPO_ROOT

TESTS = REPO_ROOT / "tests"
# Tasks no test here can run with valid input, and why. Keep it short and true.
CANNOT_RUN_HERE = {
    "db.snapshot": "asks AWS RDS for a snapshot of the environment's instance: the AWS "
    "emulator serves no RDS here, and the databases here are embedded PostgreSQL, not RDS",
}
_SUBPROCESS = {"run", "Popen", "check_output", "check_call", "call"}


def readme_tasks() -> list[str]:
    """Task names in the README's task tables (rows that start with `inv TASK`), in order."""
    names: list[str] = []
    for line in (REPO_ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\| `inv ([a-z][a-z0-9_.-]*)", line)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _names_inv(node: ast.AST) -> bool:
    """Whether an expression stands for the `inv` executable or `python -m invoke`."""
    text = ast.unparse(node)
    return bool(re.search(r"with_name\(['\"]inv['\"]\)|\bINV\b|['\"]invoke['\"]", text))


def _forwards_args(function: ast.FunctionDef) -> bool:
    return function.args.vararg is not None and any(
        isinstance(node, ast.Starred)
        and isinstance(node.value, ast.Name)
        and node.value.id == function.args.vararg.arg
        for node in ast.walk(function)
    )


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(TESTS.rglob("*.py"))}


def inv_helpers(trees: dict[Path, ast.Module]) -> set[str]:
    """Names of the functions that start `inv ARGS…`, directly or through another."""
    functions = [
        node for tree in trees.values() for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and _forwards_args(node)
    ]  # fmt: skip
    helpers = {
        function.name
        for function in functions
        if _names_inv(function)
        and any(
            isinstance(node, ast.Call) and _name(node.func) in _SUBPROCESS
            for node in ast.walk(function)
        )
    }
    while True:
        more = {
            function.name
            for function in functions
            if function.name not in helpers
            and any(
                isinstance(node, ast.Call)
                and _name(node.func) in helpers
                and any(isinstance(arg, ast.Starred) for arg in node.args)
                for node in ast.walk(function)
            )
        }
        if not more:
            return helpers
        helpers |= more


def tasks_run_through_inv() -> dict[str, set[str]]:
    """task name -> the test files that run it through `inv`."""
    trees = _trees()
    helpers = inv_helpers(trees)
    found: dict[str, set[str]] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            words: list[str] = []
            if isinstance(node, ast.Call) and _name(node.func) in helpers:
                strings = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
                words = strings[:1]  # the first word: `inv(cwd, "release.verify", …)` too
            elif isinstance(node, ast.List | ast.Tuple):
                items = node.elts
                words = [
                    after.value
                    for before, after in itertools.pairwise(items)
                    if _names_inv(before) and isinstance(after, ast.Constant)
                ]
            for word in words:
                if isinstance(word, str):
                    found.setdefault(word, set()).add(str(path.relative_to(REPO_ROOT)))
    # The README's walkthrough, which test_whole_loop.py runs line by line in bash.
    from tests.acceptance.sandbox.walkthrough import WALKTHROUGH_TEST, walkthrough_lines

    for line in walkthrough_lines():
        for word in re.findall(r"\binv ([a-z][a-z0-9_.-]*)", line):
            found.setdefault(word, set()).add(WALKTHROUGH_TEST)
    return found


def test_the_finder_knows_the_shared_helper_and_the_older_ones():
    helpers = inv_helpers(_trees())
    assert {"run_inv", "inv", "inv_process", "ok"} <= helpers
    assert "inv_in_process" not in helpers  # Invoke's parser in this process is not `inv`


def test_every_task_in_the_readme_tables_is_run_through_inv_by_a_test():
    tasks = readme_tasks()
    assert len(tasks) > 60 and "jobs.survey" in tasks
    run = tasks_run_through_inv()
    missing = [name for name in tasks if name not in run and name not in CANNOT_RUN_HERE]
    assert missing == [], f"tasks no test runs through inv: {missing}"


def test_the_tasks_excused_are_documented_and_really_not_run():
    run = tasks_run_through_inv()
    assert set(CANNOT_RUN_HERE) <= set(readme_tasks())
    assert [name for name in CANNOT_RUN_HERE if name in run] == []
