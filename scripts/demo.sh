#!/usr/bin/env bash
# The embedded platform end to end: survey, download and QC a small synthetic delivery.
set -eu

cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime
exec .venv/bin/inv local.demo
