"""scripts/bootstrap.sh as a user: python3-venv is installed through passwordless sudo.

The deploy job runs `./scripts/bootstrap.sh` as the runner's user. The script runs from a copy
of the repository's scripts in a temporary folder, with stand-ins on PATH for the programs it
would change the machine with (named as such: `id` says uid 1001; `apt-get` refuses anyone but
root, as the real one does; `sudo` runs the command as root when passwordless sudo is
allowed; `python3` has no venv module until `apt-get install python3-venv` ran).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from common.environments import REPO_ROOT

STAND_INS = {
    "id": '#!/bin/sh\n[ "$1" = -u ] && echo "${FAKE_UID:-1001}" || echo "uid=1001(ci)"\n',
    "sudo": """#!/bin/sh
echo "sudo $*" >>"$LOG"
[ "$SUDO_ALLOWED" = 1 ] || { echo "sudo: a password is required" >&2; exit 1; }
shift  # -n
[ "$1" = true ] && exit 0
FAKE_UID=0 exec "$@"
""",
    "apt-get": """#!/bin/sh
[ "$(id -u)" -eq 0 ] || { echo "E: Could not open lock file - are you root?" >&2; exit 100; }
echo "apt-get $*" >>"$LOG"
[ "$1" = install ] && touch "$VENV_MODULE"
exit 0
""",
    "python3": """#!/bin/sh
case "$1" in
  -c) exit 0 ;;
  -m) [ -f "$VENV_MODULE" ] || { echo "No module named venv" >&2; exit 1; }
      mkdir -p "$3/bin" && printf '#!/bin/sh\\nexit 0\\n' >"$3/bin/pip"
      cp "$3/bin/pip" "$3/bin/python" && chmod +x "$3/bin/pip" "$3/bin/python" ;;
esac
""",
}


def _bootstrap(tmp_path: Path, *, sudo_allowed: bool) -> tuple[subprocess.CompletedProcess, str]:
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / "scripts").mkdir(parents=True)
    for script in ("bootstrap.sh", "as-root.sh"):
        shutil.copy2(REPO_ROOT / "scripts" / script, repo / "scripts" / script)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_dir.mkdir()
    for name, text in STAND_INS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    log.touch()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "LOG": str(log),
        "VENV_MODULE": str(tmp_path / "venv-module-installed"),
        "SUDO_ALLOWED": "1" if sudo_allowed else "0",
    }
    result = subprocess.run(
        [str(repo / "scripts/bootstrap.sh")], env=env, capture_output=True, text=True, check=False
    )
    return result, log.read_text()


def test_a_user_with_passwordless_sudo_gets_python3_venv_through_sudo(tmp_path):
    result, log = _bootstrap(tmp_path, sudo_allowed=True)
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y -qq python3-venv" in log
    assert "sudo -n apt-get install -y -qq python3-venv" in log
    assert (tmp_path / "repo/.venv/bin/python").exists()


def test_a_user_without_passwordless_sudo_gets_one_line_and_nothing_installed(tmp_path):
    result, log = _bootstrap(tmp_path, sudo_allowed=False)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "error: apt-get needs root: run as root or as a user with passwordless sudo"
    )
    assert "apt-get" not in log  # sudo -n true was refused: nothing ran
    assert not (tmp_path / "repo/.venv").exists()


def test_the_virtual_environment_holds_its_packages_bytecode_and_the_projects():
    """bootstrap.sh compiles at install (uv does only when asked): where
    PYTHONDONTWRITEBYTECODE is set, a module compiled on import is never kept, and every
    process would compile these anew."""
    import importlib.util

    for name in ("pydantic", "numpy", "polars", "jinja2", "botocore", "common.db", "ops.tasks"):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        assert Path(importlib.util.cache_from_source(spec.origin)).is_file(), name
