#!/usr/bin/env bash
# Install the system packages the test suite's real services need, idempotently:
# Python 3.11 with venv (a bare Debian container has neither), a Docker engine, a registry, sshd, rclone and debootstrap (for a locally made base image),
# git, gnupg and ssh-keygen for signing and verifying release tags, Graphviz for the schema
# diagram, Prometheus (its promtool checks the alert rules), Chromium (the console's
# browser tests), salmon (RNA-seq quantification) and R with tximport and preprocessCore
# (the references the gene-level summaries are checked against; with readr, which tximport
# reads quant.sf files with when present), and affy, affyio and makecdfenv (the microarray
# pipeline's RMA, CEL headers and chip definitions, run by the workers themselves).
set -eu

packages="python3 python3-venv ca-certificates docker.io docker-registry openssh-server rclone debootstrap git gnupg openssh-client graphviz prometheus chromium salmon r-base-core r-bioc-tximport r-bioc-preprocesscore r-cran-readr r-bioc-affy r-bioc-affyio r-bioc-makecdfenv"
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
