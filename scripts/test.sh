#!/usr/bin/env bash
# The whole suite: system packages, Python dependencies, lint, then every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -eu

cd "$(dirname "$0")/.."
scripts/system-packages.sh
scripts/bootstrap.sh test
scripts/lint.sh
exec .venv/bin/pytest "$@"
