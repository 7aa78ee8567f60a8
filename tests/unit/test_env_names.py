"""An `Environment` is called `env`; an environment's name is `env_name` — read from the source
of common/, foreman/, workers/ and ops/ with `ast`, over every function's parameters.

- A parameter annotated `Environment` (or `Environment | None`) is named `env`. A function that
  takes two environments names them by their role instead: `source` and `target` (a refresh
  from prod into staging, a benchmark's throwaway database beside the one it reads).
- A parameter named `env` is never annotated `str` (nor a union with `str`): a name is
  `env_name`. The one exception is an Invoke task (a function decorated with `@task`): Invoke
  makes each parameter an option named after it, and the project's `-e/--env ENV` flag is the
  task's `env` parameter, the environment's name as typed; the task's first line turns it into
  an `Environment` (`environment(env)`), and everything it calls takes that.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from common.environments import REPO_ROOT

PRODUCTION_PACKAGES = ("common", "foreman", "workers", "ops")
ROLE_NAMES = {"env", "source", "target"}


def _is_task(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "task":
            return True
    return False


def _members(annotation: ast.expr | None) -> set[str]:
    """The types a parameter's annotation allows, by name: `Environment | None` gives both,
    `Optional[Environment]` gives `Environment`, `Mapping[str, str]` gives `Mapping` (a string
    annotation is parsed first)."""
    if annotation is None:
        return set()
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _members(annotation.left) | _members(annotation.right)
    if isinstance(annotation, ast.Subscript):
        outer = getattr(annotation.value, "id", getattr(annotation.value, "attr", "?"))
        if outer not in {"Optional", "Union"}:
            return {outer}
        inner = annotation.slice
        parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return set().union(*(_members(part) for part in parts))
    if isinstance(annotation, ast.Attribute):
        return {annotation.attr}
    return {annotation.id} if isinstance(annotation, ast.Name) else set()


def misnamed_parameters(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs:
            names = _members(argument.annotation)
            where = f"line {node.lineno} {node.name}({argument.arg})"
            if "Environment" in names and argument.arg not in ROLE_NAMES:
                yield f"{where}: an Environment is called env (or source/target)"
            if argument.arg == "env" and "str" in names and not _is_task(node):
                yield f"{where}: a name is env_name; env: str belongs to tasks only"


def _trees() -> Iterator[tuple[Path, ast.Module]]:
    for package in PRODUCTION_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), filename=str(path))


def test_environments_are_env_and_names_are_env_name():
    found = [
        f"{path.relative_to(REPO_ROOT)} {line}"
        for path, tree in _trees()
        for line in misnamed_parameters(tree)
    ]
    assert not found, "\n".join(found)


def test_the_rule_sees_both_mistakes_and_allows_a_task_and_two_roles():
    tree = ast.parse(
        "def a(settings: Environment): ...\n"
        "def b(env: str): ...\n"
        "def c(env: 'Environment | str'): ...\n"
        "@task(help={})\ndef d(c, env: str): ...\n"
        "def e(source: Environment, target: Environment | None, env_name: str): ...\n"
        "def f(env: Mapping[str, str] | None, other: Optional[Environment]): ...\n"
    )
    assert list(misnamed_parameters(tree)) == [
        "line 1 a(settings): an Environment is called env (or source/target)",
        "line 2 b(env): a name is env_name; env: str belongs to tasks only",
        "line 3 c(env): a name is env_name; env: str belongs to tasks only",
        "line 7 f(other): an Environment is called env (or source/target)",
    ]
