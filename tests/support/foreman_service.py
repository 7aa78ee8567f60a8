"""What a service manager does for the foreman on its host, for the deploy tests' sshd host.

`restart` stops the foreman named in a pid file (SIGTERM, as systemd would; it marks its
heartbeat stopped and exits), starts the REAL foreman (`python -m foreman run -e ENV`)
detached with REFINERY_VERSION set to the release, records its pid and returns — the
behaviour of `systemctl restart refinery-foreman` on a production host. The deploy's restart
command runs this over SSH.

    python -m tests.support.foreman_service restart --pid-file F --log L --env E --version V
    python -m tests.support.foreman_service stop --pid-file F
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_TIMEOUT_S = 20


def stop(pid_file: Path) -> bool:
    """Stop the foreman in `pid_file` if it runs; True when one was stopped."""
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def restart(pid_file: Path, log: Path, env_name: str, version: str) -> int:
    stop(pid_file)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "foreman", "run", "-e", env_name],
            env={**os.environ, "REFINERY_VERSION": version},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    print(f"started foreman {version} for {env_name} as pid {process.pid}")
    return process.pid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["restart", "stop"])
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--env", default="")
    parser.add_argument("--version", default="")
    args = parser.parse_args()
    if args.action == "stop":
        stop(args.pid_file)
    else:
        restart(args.pid_file, args.log, args.env, args.version)


if __name__ == "__main__":
    main()
