#!/usr/bin/env bash
# Style gates: ruff (format + lint), mypy, shellcheck, terraform fmt, zizmor (GitHub workflows).
set -eu

cd "$(dirname "$0")/.."
bin=.venv/bin

"$bin/ruff" format --check .
"$bin/ruff" check .
"$bin/mypy"
"$bin/shellcheck" scripts/*.sh .ci/run
terraform=$("$bin/python" -m ops.tf.binary 2>/dev/null || true)
if [ -n "$terraform" ] && [ -d infrastructure ]; then
  "$terraform" fmt -check -recursive infrastructure
fi
"$bin/zizmor" --offline --quiet .github/workflows
echo "lint: ok"
