#!/usr/bin/env bash
# Static security checks of the Terraform in infrastructure/ with checkov.
# checkov pins older boto3/packaging than Refinery uses, so it lives in its own virtual
# environment under the git-ignored .state/ folder instead of the project's test extras.
# It runs offline: no policy download, no update check.
set -eu

cd "$(dirname "$0")/.."
venv=.state/checkov-venv
version=3.3.30

if [ ! -x "$venv/bin/checkov" ] || ! "$venv/bin/checkov" --version | grep -qx "$version"; then
  echo "installing checkov $version into $venv…" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "checkov==$version"
fi

CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE \
  exec "$venv/bin/checkov" --directory infrastructure --framework terraform \
  --compact --quiet --skip-download "$@"
