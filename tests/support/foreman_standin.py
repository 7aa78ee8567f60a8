"""Stand-in foreman for deploy tests: writes `foreman_heartbeats` like the real foreman does.

The real foreman (`python -m foreman run -e ENV`) belongs to another area; the deploy tests
only need a process that a restart command can stop and start and that beats into the
environment's database. `restart` stops the process named in a pid file (if alive), starts a
new detached one and returns — what a `systemctl restart` does on a real host.

    python -m tests.support.foreman_standin restart --pid-file F --env NAME --version V --log L
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from foreman.db import connect
from foreman.environments import load_environment

_UPSERT = """
INSERT INTO foreman_heartbeats (foreman_id, hostname, pid, version, role, started_at, beat_at)
VALUES (%(id)s, %(host)s, %(pid)s, %(version)s, %(role)s, now(), clock_timestamp())
ON CONFLICT (foreman_id) DO UPDATE
SET beat_at = clock_timestamp(), role = EXCLUDED.role, version = EXCLUDED.version
"""


def run(env_name: str, version: str, interval: float) -> None:
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    conn = connect(load_environment(env_name), autocommit=True)
    values = {
        "id": f"{socket.gethostname()}-{os.getpid()}",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "version": version,
        "role": "leader",
    }
    while not stopping:
        with conn.cursor() as cur:
            cur.execute(_UPSERT, values)
        time.sleep(interval)
    with conn.cursor() as cur:
        cur.execute(_UPSERT, {**values, "role": "stopped"})
    conn.close()


def restart(pid_file: Path, env_name: str, version: str, log: Path, interval: float) -> None:
    if pid_file.exists():
        old = int(pid_file.read_text())
        try:
            os.kill(old, signal.SIGTERM)
            for _ in range(100):
                os.kill(old, 0)
                time.sleep(0.05)
        except ProcessLookupError:
            pass
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.foreman_standin",
                "run",
                "--env",
                env_name,
                "--version",
                version,
                "--interval",
                str(interval),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    print(f"restarted stand-in foreman {version} as pid {process.pid}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["run", "restart"])
    parser.add_argument("--env", required=True)
    parser.add_argument("--version", default="")
    parser.add_argument("--pid-file", type=Path)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--interval", type=float, default=0.3)
    args = parser.parse_args()
    if args.action == "run":
        run(args.env, args.version, args.interval)
    else:
        restart(args.pid_file, args.env, args.version, args.log, args.interval)


if __name__ == "__main__":
    main()
