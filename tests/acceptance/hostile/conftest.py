"""What the hostile-input tests share: an environment of their own, `inv` in a subprocess
(argv may carry undecodable bytes), the error contract, and a snapshot of everything a
refused command must leave as it was."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from common import db
from common.environments import REPO_ROOT, Environment, load_environment
from tests.support.environments import write_environment

INV = str(Path(sys.executable).with_name("inv"))
# Every table a command could write to; a refused command changes none of them.
TABLES = (
    "projects", "individuals", "samples", "aliquots", "experiments", "files", "analyses",
    "analysis_targets", "jobs", "job_attempts",
)  # fmt: skip
_counter = itertools.count()


@dataclass(frozen=True)
class Outcome:
    """A finished `inv`, its output decoded however broken the bytes."""

    returncode: int
    stdout: str
    stderr: str


def run_inv(*args: str | bytes, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    """`inv ARGS…` from the repository root. A str with lone surrogates reaches the process as
    the raw bytes they stand for (os.fsencode), as a file name with invalid UTF-8 would."""
    argv = [INV.encode(), *(a if isinstance(a, bytes) else os.fsencode(a) for a in args)]
    result = subprocess.run(
        argv, cwd=REPO_ROOT, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )  # fmt: skip
    return Outcome(
        result.returncode,
        result.stdout.decode("utf-8", "backslashreplace"),
        result.stderr.decode("utf-8", "backslashreplace"),
    )


def assert_refused(outcome: Outcome, *, max_line: int = 400) -> str:
    """The error contract: exit 1 or 2, exactly one short line on stderr, no traceback.
    Returns the line."""
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert outcome.returncode in (1, 2), (outcome.returncode, outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr + outcome.stdout, outcome.stderr[-2000:]
    assert len(lines) == 1, outcome.stderr[-2000:]
    assert len(lines[0]) <= max_line, lines[0][:200]
    assert "\x1b" not in outcome.stderr, "an escape sequence reached the terminal"
    return lines[0]


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, int]
    files: frozenset[str]


def snapshot(env: Environment) -> Snapshot:
    """Row counts of every table, and every file under the environment's state folder and
    lake (backups, reports, lake objects)."""
    conn = db.connect(env)
    try:
        with conn.cursor() as cur:
            rows = {}
            for table in TABLES:
                cur.execute(f"SELECT count(*) FROM {table}")
                rows[table] = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    roots = [env.state_dir, Path(env.lake.root)]
    files = frozenset(
        str(path) for root in roots if root.exists() for path in root.rglob("*") if path.is_file()
    )
    return Snapshot(rows, files)


@pytest.fixture(scope="module")
def hostile_env(session_dirs, postgres_template, tmp_path_factory) -> Environment:
    """One environment (its own database, lake and state folder) for a module's examples:
    hypothesis runs many examples per test, and a refused command must leave it as it was."""
    name = f"hostile{next(_counter)}"
    database = f"test_{os.getpid()}_{name}"
    db.create_database(load_environment("template"), database, template=postgres_template)
    lake = tmp_path_factory.mktemp("hostile-lake")
    write_environment(session_dirs["environments"], name, {
        "database": {"kind": "embedded", "name": database},
        "lake": {"backend": "filesystem", "root": str(lake)},
        "executor": {"kind": "null"},
    })  # fmt: skip
    return load_environment(name)


@pytest.fixture(scope="module")
def unchanged(hostile_env) -> Callable[[Snapshot], None]:
    """`unchanged(before)` asserts the environment still matches the snapshot `before`."""

    def check(before: Snapshot) -> None:
        after = snapshot(hostile_env)
        assert after.rows == before.rows
        assert after.files == before.files

    return check
