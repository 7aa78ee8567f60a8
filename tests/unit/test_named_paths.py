"""Every repository path that the README, a Markdown page under docs/ or a comment names exists.

Read: README.md and the Markdown pages under docs/ whole; in *.py files their comments and
docstrings; in *.tf, *.sh and *.toml files their comments (`#`, and `//` in Terraform). A path
is a token that starts with one of the repository's top-level folders and a slash
(`ops/tf/stack.py`, `ops/tf`, `tests/unit/`), not inside a longer path or a URL. It must name a
file or folder that exists, relative to the repository root; a module may be named without its
`.py` (`ops/console/app`). A placeholder stands for any name: `<area>`, `<kind>`, `v<N>`, `*`
and `…` are read as a glob, which must match at least one path (`ops/<area>/tasks.py`,
`workers/schemas/<kind>/v<N>.json`), so a pattern that matches nothing fails too.

One path is named on purpose before it exists: the GPG keys file that
infrastructure/release/release.toml's `allowed_gpg_keys` points at, which is added with the
first GPG signer (until then `inv release.verify` refuses GPG-signed tags). It is allowed only
while release.toml names it so.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
import tomllib
from collections.abc import Iterator
from pathlib import Path

from common.environments import REPO_ROOT

TOP_LEVEL = ("common", "docs", "foreman", "images", "infrastructure", "ops", "scripts", "tests",
             "workers")  # fmt: skip
# A top-level folder and a slash, then path characters (placeholders included), not preceded
# by anything that would make it the tail of a longer path, a URL or an attribute.
PATH = re.compile(
    r"(?<![\w./:~$-])(?:" + "|".join(TOP_LEVEL) + r")/[\w./<>*…{}-]*",
    re.ASCII,
)
PLACEHOLDER = re.compile(r"<[^<>/]*>|…|\{[^{}/]*\}")
COMMENTED = {".tf": ("#", "//"), ".sh": ("#",), ".toml": ("#",)}
RELEASE_SETTINGS = REPO_ROOT / "infrastructure" / "release" / "release.toml"


def gpg_keys_file() -> str:
    """The path release.toml names for the GPG signers' keys (see the module docstring)."""
    return tomllib.loads(RELEASE_SETTINGS.read_text())["release"]["allowed_gpg_keys"]


def named_paths(text: str) -> Iterator[str]:
    """Every path-shaped token in `text`, without the punctuation that ends a sentence."""
    for match in PATH.finditer(text):
        token = match.group(0).rstrip(".,:;")
        if token.rstrip("/").count("/") or not token.endswith("/"):
            yield token


def exists(token: str) -> bool:
    pattern = PLACEHOLDER.sub("*", token).rstrip("/")
    if "*" in pattern:
        return next(REPO_ROOT.glob(pattern), None) is not None
    return (REPO_ROOT / pattern).exists() or (REPO_ROOT / f"{pattern}.py").is_file()


def python_prose(source: str) -> Iterator[str]:
    """The comments and docstrings of a Python module."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    yield from (token.string for token in tokens if token.type == tokenize.COMMENT)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield docstring


def commented_prose(source: str, markers: tuple[str, ...]) -> Iterator[str]:
    for line in source.splitlines():
        starts = [line.find(marker) for marker in markers if marker in line]
        if starts:
            yield line[min(starts) :]


def prose(path: Path) -> Iterator[str]:
    text = path.read_text()
    if path.suffix == ".md":
        yield text
    elif path.suffix == ".py":
        yield from python_prose(text)
    else:
        yield from commented_prose(text, COMMENTED[path.suffix])


def _read_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    files = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    files += [
        REPO_ROOT / name
        for name in listed
        if Path(name).suffix in {".py", *COMMENTED} and (REPO_ROOT / name).is_file()
    ]
    assert len(files) > 300
    return files


def test_every_path_named_in_comments_docstrings_and_docs_exists():
    not_yet = gpg_keys_file()
    missing = sorted(
        f"{path.relative_to(REPO_ROOT)}: {token}"
        for path in _read_files()
        for text in prose(path)
        for token in named_paths(text)
        if not exists(token) and token != not_yet
    )
    assert not missing, "these name no path of the repository:\n" + "\n".join(missing)


def test_the_reader_finds_paths_and_placeholders_and_refuses_a_missing_one():
    text = (
        "see `ops/tf/stack.py`, ops/terraform/main.tf and ops/<area>/tasks.py; not "
        "https://example.org/ops/x.py nor .state/ops/y, nor common/ alone."
    )
    found = list(named_paths(text))
    assert found == ["ops/tf/stack.py", "ops/terraform/main.tf", "ops/<area>/tasks.py"]
    assert [exists(token) for token in found] == [True, False, True]
    assert not exists("workers/schemas/<kind>/v<N>.yaml")
    source = '"""Doc naming ops/tf."""\nx = "ops/nowhere.py"  # see ops/tasks.py\n'
    assert sorted(t for text in python_prose(source) for t in named_paths(text)) == [
        "ops/tasks.py",
        "ops/tf",
    ]
