"""The README describes every task `inv --list` shows, and its quick start has two commands."""

from __future__ import annotations

import re

from common.environments import REPO_ROOT
from ops.tasks import ns


def _task_names(collection, prefix: str = "") -> list[str]:
    """How each task is typed: `deploy` for the default task of `deploy`, else `area.task`."""
    names = [
        prefix.rstrip(".") if name == collection.default and prefix else f"{prefix}{name}"
        for name in collection.tasks
    ]
    for name, child in collection.collections.items():
        names.extend(_task_names(child, f"{prefix}{name}."))
    return names


def test_readme_describes_every_task():
    readme = (REPO_ROOT / "README.md").read_text()
    documented = set(re.findall(r"`inv ([a-z][a-z0-9_.-]*)", readme))
    missing = sorted(name for name in _task_names(ns) if name not in documented)
    assert missing == [], f"tasks missing from README.md: {missing}"


def test_quick_start_is_exactly_the_two_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick_start, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["./scripts/demo.sh", "./scripts/test.sh"]
