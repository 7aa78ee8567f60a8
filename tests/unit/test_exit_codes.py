"""One exit-code table: distinct codes, every error class on it, no bare numbers, README in step."""

from __future__ import annotations

import ast
import re

import pytest

from common.environments import REPO_ROOT
from common.errors import (
    CommandError,
    ConfigError,
    ExitCode,
    RefineryError,
    ValidationError,
)
from ops.db.backups.errors import BackupCorruptError, BackupNotFoundError
from ops.deploy.errors import DeployLockedError, VersionRuleError
from ops.tf.plan import DestructiveChangeError
from ops.tf.runner import StateLockedError

PACKAGES = ("common", "foreman", "workers", "ops")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RefineryError, ExitCode.FAILURE),
        (ConfigError, ExitCode.USAGE),
        (ValidationError, ExitCode.USAGE),
        (CommandError, ExitCode.COMMAND_FAILED),
        (BackupNotFoundError, ExitCode.NOT_FOUND),
        (BackupCorruptError, ExitCode.OUT_OF_SYNC),
        (DestructiveChangeError, ExitCode.REFUSED),
        (DeployLockedError, ExitCode.LOCK_HELD),
        (StateLockedError, ExitCode.LOCK_HELD),
        (VersionRuleError, ExitCode.USAGE),
    ],
)
def test_each_error_class_maps_to_its_code(error, code):
    assert error.exit_code == code


def test_a_corrupt_backup_a_held_lock_and_a_refusal_no_longer_share_a_code():
    codes = {BackupCorruptError.exit_code, DeployLockedError.exit_code}
    codes.add(DestructiveChangeError.exit_code)
    assert len(codes) == 3
    assert len({member.value for member in ExitCode}) == len(ExitCode)


def _bare_exit_codes(path) -> list[str]:
    """Where a number stands for an exit code: `exit_code = 3`, `Exit(..., code=3)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
            if "exit_code" in names and isinstance(node.value, ast.Constant):
                found.append(f"{path}:{node.lineno}")
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in ("code", "exit_code") and isinstance(keyword.value, ast.Constant):
                    found.append(f"{path}:{node.lineno}")
    return found


def test_no_exit_code_is_a_bare_number():
    files = [p for package in PACKAGES for p in (REPO_ROOT / package).rglob("*.py")]
    assert files
    assert [hit for path in files for hit in _bare_exit_codes(path)] == []


def test_the_readme_table_lists_every_code():
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", table, re.M))
    assert rows == {(str(member.value), member.name) for member in ExitCode}
