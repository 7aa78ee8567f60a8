#!/usr/bin/env bash
# The steps of the tag workflow (.github/workflows/release.yml), runnable on any machine:
#
#   scripts/release-ci.sh verify TAG   refuse the tag unless `inv release.verify` accepts it;
#                                      print its environment (and hand it to the workflow)
#   scripts/release-ci.sh test         the test command, scripts/ci-test.sh
#   scripts/release-ci.sh deploy TAG   verify the tag again (it may have moved since), then
#                                      inv deploy -e ENV -v TAG
#
# The protected branch that holds the allowed signers is the remote's default branch, or
# RELEASE_TRUSTED_BRANCH when set (the workflow passes the repository's default branch).
# RELEASE_FETCH=0 checks against the remote-tracking branches already fetched instead of
# fetching them again (the workflow's checkout fetched every branch and keeps no credentials).
# For the deploy, REFINERY_DEPLOY_SSH_KEY (the foreman hosts' deploy key) and
# REFINERY_DEPLOY_KNOWN_HOSTS are written to 0600 files and never printed. AWS credentials
# are the workflow's (GitHub OIDC: short-lived, for the stack's deploy role), never keys.
# RELEASE_ENVIRONMENT=sandbox deploys the verified tag to the sandbox (`inv sandbox.up` first)
# instead of its own environment: this step rehearsed on one machine. No other environment
# may be named there: a tag deploys only to the environment it was made for.
set -eu

usage="usage: scripts/release-ci.sh verify TAG | test | deploy TAG"
step=${1:?$usage}
cd "$(dirname "$0")/.."
if [ -x .venv/bin/inv ]; then inv=.venv/bin/inv; else inv=inv; fi

verify_tag() {
  tag=$1
  set -- release.verify "$tag"
  if [ -n "${RELEASE_TRUSTED_BRANCH:-}" ]; then
    set -- "$@" --trusted-branch "$RELEASE_TRUSTED_BRANCH"
  fi
  if [ "${RELEASE_FETCH:-1}" = 0 ]; then
    set -- "$@" --no-fetch
  fi
  "$inv" "$@" >&2
}

install_deploy_key() {
  environment=$1
  if [ -z "${REFINERY_DEPLOY_SSH_KEY:-}" ]; then
    return 0
  fi
  umask 077
  mkdir -p "$HOME/.ssh"
  printf '%s\n' "$REFINERY_DEPLOY_SSH_KEY" >"$HOME/.ssh/refinery-deploy-$environment"
  if [ -n "${REFINERY_DEPLOY_KNOWN_HOSTS:-}" ]; then
    printf '%s\n' "$REFINERY_DEPLOY_KNOWN_HOSTS" >>"$HOME/.ssh/known_hosts"
  fi
}

case $step in
  verify)
    tag=${2:?$usage}
    verify_tag "$tag"
    environment=$("$inv" release.resolve "$tag")
    echo "$tag deploys to $environment"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
      echo "environment=$environment" >>"$GITHUB_OUTPUT"
    fi
    ;;
  test)
    exec ./scripts/ci-test.sh
    ;;
  deploy)
    tag=${2:?$usage}
    rehearse_on=${RELEASE_ENVIRONMENT:-}
    if [ -n "$rehearse_on" ] && [ "$rehearse_on" != sandbox ]; then
      echo "error: RELEASE_ENVIRONMENT may only be sandbox (a tag deploys to its own environment)" >&2
      exit 2
    fi
    verify_tag "$tag"
    environment=${rehearse_on:-$("$inv" release.resolve "$tag")}
    install_deploy_key "$environment"
    exec "$inv" deploy -e "$environment" -v "$tag"
    ;;
  *)
    echo "error: unknown step '$step' ($usage)" >&2
    exit 2
    ;;
esac
