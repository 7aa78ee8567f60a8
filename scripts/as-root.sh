#!/usr/bin/env bash
# Run a command as root: itself when we are root, else through `sudo -n` (passwordless sudo,
# never a prompt); without such sudo, one line naming the command and exit 2, before anything
# runs. Only what needs root by nature comes here (installing system packages); the Python
# side has the same rule in common.shell.as_root.
# Usage: scripts/as-root.sh COMMAND [ARG...]
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/as-root.sh COMMAND [ARG...]" >&2
  exit 2
fi
if [ "$(id -u)" -eq 0 ]; then
  exec "$@"
fi
if sudo -n true 2>/dev/null; then
  exec sudo -n "$@"
fi
echo "error: $(basename "$1") needs root: run as root or as a user with passwordless sudo" >&2
exit 2
