#!/usr/bin/env bash
# The whole suite: system packages, Python dependencies, lint, then every test — the same
# script CI runs (scripts/ci-test.sh). Extra arguments go to pytest
# (e.g. scripts/test.sh tests/unit -x).
set -eu

cd "$(dirname "$0")/.."
exec ./scripts/ci-test.sh "$@"
