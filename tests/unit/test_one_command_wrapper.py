"""Every external command goes through `common/shell.py`, as the README says: no other
production module (common/ foreman/ workers/ ops/) runs a program itself, read from the
source with `ast`. Naming `subprocess.Popen` or `subprocess.TimeoutExpired` as a type is fine;
calling into `subprocess`, or `os.system`/`os.popen`/`os.exec*`/`os.spawn*`/`os.posix_spawn*`/
`os.fork`, or `asyncio.create_subprocess_*`, is not. (A process pool that runs our own
Python functions, as bench.curve's does, runs no external program and is not looked for.)"""

from __future__ import annotations

import ast
from pathlib import Path

from common.environments import REPO_ROOT

WRAPPER = Path("common/shell.py")
PRODUCTION_PACKAGES = ("common", "foreman", "workers", "ops")
OS_STARTERS = ("system", "popen", "exec", "spawn", "posix_spawn", "fork")


def process_starts(tree: ast.Module) -> list[str]:
    """`line N: <call>` for every call in `tree` that starts a process without the wrapper."""
    from_subprocess = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "subprocess"
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in from_subprocess:
            found.append(f"line {node.lineno}: {func.id}(...) from subprocess")
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            continue
        owner, name = func.value.id, func.attr
        if (
            owner == "subprocess"
            or (owner == "os" and name.startswith(OS_STARTERS))
            or (owner == "asyncio" and name.startswith("create_subprocess"))
        ):
            found.append(f"line {node.lineno}: {owner}.{name}(...)")
    return found


def test_only_the_command_wrapper_starts_processes():
    found = []
    for package in PRODUCTION_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if path.relative_to(REPO_ROOT) == WRAPPER:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            found += [f"{path.relative_to(REPO_ROOT)} {line}" for line in process_starts(tree)]
    assert not found, "run these through common/shell.py:\n" + "\n".join(found)


def test_the_wrapper_itself_is_seen_starting_processes():
    # The rule would hold vacuously if the scan saw nothing: the wrapper's own calls are found.
    tree = ast.parse((REPO_ROOT / WRAPPER).read_text())
    assert len(process_starts(tree)) >= 3


def test_the_rule_catches_each_way_of_starting_a_process():
    tree = ast.parse(
        "import os, subprocess\nfrom subprocess import check_output as out\n"
        "subprocess.run(['x'])\nout(['x'])\nos.system('x')\nos.execvp('x', ['x'])\n"
        "p: subprocess.Popen\n"
    )
    assert process_starts(tree) == [
        "line 3: subprocess.run(...)",
        "line 4: out(...) from subprocess",
        "line 5: os.system(...)",
        "line 6: os.execvp(...)",
    ]
