"""Every function of the shipped packages is annotated, so the type checker sees them all."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "foreman", "workers", "ops")


def _unannotated(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    gaps = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        named = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
        missing = [a.arg for a in named if a.annotation is None and a.arg not in ("self", "cls")]
        missing += [
            "*" + a.arg for a in (arguments.vararg, arguments.kwarg) if a and a.annotation is None
        ]
        if node.returns is None:
            missing.append("return")
        if missing:
            where = path.relative_to(ROOT)
            gaps.append(f"{where}:{node.lineno} {node.name}: {', '.join(missing)}")
    return gaps


def test_every_function_has_argument_and_return_annotations() -> None:
    files = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    assert len(files) > 100
    gaps = [gap for path in files for gap in _unannotated(path)]
    assert gaps == []
