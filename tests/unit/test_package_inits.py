"""An `__init__.py` holds no logic: a docstring that says what the package owns, imports (a
package may re-export its public names) and `__all__`. Anything else lives in a module whose
name says what it is, where a reader looking for it will find it."""

from __future__ import annotations

import ast
from pathlib import Path

from common.environments import REPO_ROOT

PACKAGES = ("common", "foreman", "workers", "ops", "tests", "scripts")


def logic_in(tree: ast.Module) -> list[str]:
    """`line N: <statement kind>` for every top-level statement that is not allowed."""
    found = []
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and _assigns_all(node):
            continue
        found.append(f"line {node.lineno}: {type(node).__name__}")
    return found


def _assigns_all(node: ast.Assign | ast.AnnAssign) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [getattr(t, "id", None) for t in targets] == ["__all__"]


def _inits() -> list[Path]:
    inits = sorted(p for package in PACKAGES for p in (REPO_ROOT / package).rglob("__init__.py"))
    assert len(inits) > 20
    return inits


def test_no_package_init_holds_logic():
    found = [
        f"{path.relative_to(REPO_ROOT)} {line}"
        for path in _inits()
        for line in logic_in(ast.parse(path.read_text(), filename=str(path)))
    ]
    assert not found, "move these into a named module:\n" + "\n".join(found)


def test_the_rule_refuses_a_function_a_constant_and_a_class_but_not_re_exports():
    tree = ast.parse(
        '"""Doc."""\nfrom a import b\nimport c\n__all__ = ["b"]\nX = 1\n'
        "def f():\n    pass\nclass K:\n    pass\n"
    )
    assert logic_in(tree) == ["line 5: Assign", "line 6: FunctionDef", "line 8: ClassDef"]
