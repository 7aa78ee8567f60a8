"""One naming rule and one registration for Invoke tasks, read from the source with `ast`.

- A module that defines a task (a function decorated with `task`) is an area's `tasks.py`, or
  `tasks_<topic>.py` beside it when the area splits its tasks by topic; nothing in `common/`,
  `foreman/` or `workers/` defines one, and `ops/tasks.py` only composes.
- Tasks are made one way: `@task` from `ops.taskkit` (the error contract), used as a decorator,
  never `invoke.task`, a `Task(...)` built by hand or `task(func)` called.
- Tasks are registered one way: an area's `tasks.py` builds `ns = Collection("<area>")` and
  names each of its tasks in `ns.add_task(...)`, a `tasks_<topic>.py` task included; the
  benchmark tasks are the one exception, named in `ops/tasks.py` BENCH_TASKS, which adds them to
  `bench` where the areas are composed (so that no area imports another's benchmark). Nothing
  else calls `add_task` or passes tasks to `Collection(...)`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from common.environments import REPO_ROOT
from ops import tasks as composition

TASK_MODULE_NAME = re.compile(r"tasks(_[a-z][a-z0-9_]*)?\.py", re.ASCII)
PRODUCTION_PACKAGES = ("common", "foreman", "workers", "ops")


def _trees() -> Iterator[tuple[Path, ast.Module]]:
    for package in PRODUCTION_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), filename=str(path))


def _is_task_decorator(node: ast.expr) -> bool:
    """`@task` or `@task(...)`: ops.taskkit's, imported by name (a peer's `@app.task` in a
    benchmark is not an Invoke task)."""
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Name) and target.id == "task"


def task_names(tree: ast.Module) -> list[str]:
    """Names of the functions in `tree` decorated with `task` (bare or with options)."""
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(_is_task_decorator(d) for d in node.decorator_list)
    ]


def misplaced_tasks(path: Path, tree: ast.Module) -> list[str]:
    """Tasks defined outside an `ops/<area>/tasks.py` or `ops/<area>/tasks_<topic>.py`."""
    names = task_names(tree)
    relative = path.relative_to(REPO_ROOT)
    in_an_area = len(relative.parts) == 3 and relative.parts[0] == "ops"
    if not names or (in_an_area and TASK_MODULE_NAME.fullmatch(path.name)):
        return []
    return [f"{relative}: {name}" for name in names]


def other_registrations(path: Path, tree: ast.Module) -> list[str]:
    """Every way of making or registering a task that is not the one way (docstring above)."""
    relative = path.relative_to(REPO_ROOT)
    area_tasks = len(relative.parts) == 3 and relative.parts[0] == "ops" and path.name == "tasks.py"
    composes = relative == Path("ops/tasks.py")
    uses_collections = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "invoke"
        and any(alias.name == "Collection" for alias in node.names)
        for node in ast.walk(tree)
    )
    decorators = {
        id(d)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for d in node.decorator_list
    }
    found = []
    for node in ast.walk(tree):
        where = f"{relative}:{getattr(node, 'lineno', 0)}"
        invoke_names = (
            node.names if isinstance(node, ast.ImportFrom) and node.module == "invoke" else []
        )
        if any(alias.name in {"task", "Task"} for alias in invoke_names):
            found.append(f"{where}: imports invoke's task (use ops.taskkit.task)")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = getattr(func, "id", None) or getattr(func, "attr", None)
        if name in {"Task", "from_module"}:
            found.append(f"{where}: {name}(...)")
        elif name == "task" and id(node) not in decorators and node.args:
            found.append(f"{where}: task(...) called, not used as a decorator")
        elif name == "Collection" and (len(node.args) > 1 or node.keywords):
            found.append(f"{where}: tasks passed to Collection(...)")
        elif name == "add_task" and uses_collections and not (composes or area_tasks):
            found.append(f"{where}: add_task outside an area's tasks.py and ops/tasks.py")
        elif name == "add_task" and area_tasks and getattr(func.value, "id", None) != "ns":  # type: ignore[attr-defined]
            found.append(f"{where}: add_task on something other than the area's ns")
    return found


def added_to_ns(tree: ast.Module) -> set[str]:
    """Names passed to `ns.add_task(...)` in an area's tasks.py."""
    return {
        node.args[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "add_task"
        and node.args
        and isinstance(node.args[0], ast.Name)
    }


def test_only_tasks_modules_define_tasks():
    found = [line for path, tree in _trees() for line in misplaced_tasks(path, tree)]
    assert not found, "tasks belong in ops/<area>/tasks.py or tasks_<topic>.py:\n" + "\n".join(
        found
    )


def test_tasks_are_made_and_registered_one_way():
    found = [line for path, tree in _trees() for line in other_registrations(path, tree)]
    assert not found, "\n".join(found)


def test_every_task_of_an_area_is_added_to_its_collection_or_is_a_benchmark():
    benchmarks = set(composition.BENCH_TASKS)
    top_level = {(f"ops.{area}.tasks", name) for name, area in composition.TOP_LEVEL_TASKS.items()}
    unregistered = []
    for area in composition.AREA_NAMES:
        folder = REPO_ROOT / "ops" / area
        registered = added_to_ns(ast.parse((folder / "tasks.py").read_text()))
        for path in sorted(folder.glob("tasks*.py")):
            module = f"ops.{area}.{path.stem}"
            for name in task_names(ast.parse(path.read_text())):
                if name not in registered and (module, name) not in benchmarks | top_level:
                    unregistered.append(f"{module}.{name}")
    assert not unregistered, "tasks that no collection holds: " + ", ".join(unregistered)


def test_the_rules_catch_a_misnamed_module_and_a_second_registration(tmp_path):
    # Proof that the checks above can fail: a benchmark task in a lake module named
    # bench_tasks.py, and tasks handed to a collection another way.
    stray = REPO_ROOT / "ops" / "lake" / "bench_tasks.py"
    tree = ast.parse("@task(help={})\ndef lake_bench(c): ...\n")
    assert misplaced_tasks(stray, tree) == ["ops/lake/bench_tasks.py: lake_bench"]
    assert misplaced_tasks(stray.with_name("tasks_bench.py"), tree) == []
    other = ast.parse(
        "from invoke import Collection, task\nns = Collection('x', a, b)\n"
        "def add_to(c):\n    c.add_task(a)\n"
    )
    found = other_registrations(REPO_ROOT / "ops" / "db" / "tasks_backup.py", other)
    assert len(found) == 3, found
