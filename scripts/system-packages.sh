#!/usr/bin/env bash
# Install the system packages the test suite's real services need, idempotently:
# a Docker engine, a registry, sshd, rclone and debootstrap (for a locally made base image),
# git, gnupg and ssh-keygen for signing and verifying release tags, Graphviz for the schema
# diagram, Prometheus (its promtool checks the alert rules), Chromium (the console's
# browser tests), and R with Bioconductor's preprocessCore (the peer that quantile
# normalisation is checked against, and `inv bench.datasets`'s).
set -eu

packages="docker.io docker-registry openssh-server rclone debootstrap git gnupg openssh-client graphviz prometheus chromium r-base-core r-bioc-preprocesscore"
missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $package"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: system packages missing ($missing); run as root or install them" >&2
    exit 2
  fi
  echo "installing system packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # The distribution starts registry and Prometheus services on install; tests need neither.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
    systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
  fi
fi
