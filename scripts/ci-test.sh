#!/usr/bin/env bash
# The test step of both workflows (.github/workflows/test.yml, release.yml through
# scripts/release-ci.sh test): the whole suite, run where it is tested — Debian bookworm.
#
# CI runs it as root in a privileged Debian job container: the sealing tests create users and
# change ownership, and the suite's own Docker engine runs inside the job, so the containers
# it starts share the job's loopback (the emulator, the registry, sshd). Run as a user with
# passwordless sudo instead, it installs the system packages through `sudo -n` and runs the
# tests as that user (enough for tests/unit and most of the rest; the sealing and engine
# tests need root). Extra arguments go to pytest: scripts/ci-test.sh tests/unit -x.
#
# pytest runs on four xdist workers (tests mostly wait on servers and subprocesses, so there
# are more workers than a two-core machine's cores), each with its own state folder, database
# cluster and emulator; the tests that share the one Docker engine, or a module's fixture,
# are kept on one worker (--dist loadgroup, tests/support/parallel.py). `-n 0` after it runs
# the tests in this process: scripts/ci-test.sh tests/unit -n 0. The 25 slowest tests are
# listed at the end: the lines the run's wall time is made of.
set -eu

cd "$(dirname "$0")/.."

./scripts/as-root.sh ./scripts/system-packages.sh
./scripts/bootstrap.sh test
./scripts/lint.sh
exec .venv/bin/pytest -n 4 --dist loadgroup --durations=25 "$@"
