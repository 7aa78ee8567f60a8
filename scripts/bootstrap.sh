#!/usr/bin/env bash
# Create or refresh the project's virtual environment, idempotently.
# Usage: scripts/bootstrap.sh [runtime|test]
set -eu

cd "$(dirname "$0")/.."
extras=${1:-runtime}
venv=.venv
stamp="$venv/.installed-$extras"

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (found: $(python3 --version 2>&1))" >&2
  exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # As a user, through passwordless sudo (scripts/as-root.sh): apt-get needs root.
    echo "installing python3-venv (needs root)…" >&2
    ./scripts/as-root.sh apt-get update -qq
    ./scripts/as-root.sh apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi

want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing Python dependencies ($extras)…" >&2
  spec=.
  [ "$extras" = test ] && spec='.[test]'
  # uv resolves and installs the same versions as pip in a fraction of the time. pip installs
  # uv itself, and pip does the whole install where uv cannot be had or cannot reach its
  # index. Both compile the bytecode now (uv only when asked): where PYTHONDONTWRITEBYTECODE
  # is set, nothing compiled later is ever kept, and every process would compile pydantic,
  # numpy, polars… anew on each import (the whole suite took 1.5× the CPU that way).
  if "$venv/bin/pip" install -q uv >/dev/null 2>&1 && [ -x "$venv/bin/uv" ] &&
    "$venv/bin/uv" pip install -q --compile-bytecode --python "$venv/bin/python" -e "$spec"; then
    :
  else
    "$venv/bin/pip" install -q -e "$spec"
  fi
  echo "$want" >"$stamp"
fi

# The project's own modules, compiled for the same reason: quick when nothing changed (each
# file's timestamp is compared), and a module edited since compiles once here, not in every
# process that imports it.
"$venv/bin/python" -m compileall -q -j 0 common foreman workers ops tasks.py || true
