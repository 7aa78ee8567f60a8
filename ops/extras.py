"""Optional Python packages, installed on demand by the task that needs them.

`./scripts/demo.sh` installs the runtime dependencies only. The sandbox (an AWS emulator, the
pinned Terraform and its null provider) and `inv deploy` (Terraform) need more; rather than
telling the operator to install the test extras, the task installs the `sandbox` extra's
packages it lacks, at the versions `pyproject.toml` pins, with pip into the Python running it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import tomllib
from collections.abc import Callable, Iterable

from packaging.requirements import Requirement

from common.environments import REPO_ROOT
from common.errors import ConfigError
from common.shell import run_command

log = logging.getLogger(__name__)
SANDBOX_EXTRA = "sandbox"


def extra_requirements(extra: str) -> list[Requirement]:
    """The requirements of optional-dependency group `extra` in pyproject.toml."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    groups = project.get("optional-dependencies", {})
    if extra not in groups:
        raise ConfigError(f"pyproject.toml has no [{extra}] extra")
    return [Requirement(text) for text in groups[extra]]


def missing(requirements: Iterable[Requirement]) -> list[Requirement]:
    """Those not installed at an allowed version."""
    absent = []
    for requirement in requirements:
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            absent.append(requirement)
            continue
        if requirement.specifier and version not in requirement.specifier:
            absent.append(requirement)
    return absent


def ensure_installed(
    extra: str,
    *,
    names: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Install what `extra` (or only its packages `names`) lacks; the requirements installed."""
    wanted = extra_requirements(extra)
    if names is not None:
        chosen = {name.lower() for name in names}
        wanted = [item for item in wanted if item.name.lower() in chosen]
    needed = missing(wanted)
    if not needed:
        return []
    texts = [str(item) for item in needed]
    if progress:
        progress(f"installing {', '.join(texts)}")
    run_command(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *texts],
        timeout=1800,
    )
    importlib.invalidate_caches()
    return texts
