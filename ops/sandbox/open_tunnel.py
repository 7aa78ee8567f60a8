"""The sandbox's stand-in for `aws ec2-instance-connect open-tunnel`: an SSH ProxyCommand.

On AWS, ssh (paramiko, through `[foreman_host] proxy_command`) runs `aws ec2-instance-connect
open-tunnel --instance-id HOST --remote-port PORT` and speaks SSH over that command's stdin
and stdout; the EC2 Instance Connect Endpoint carries the bytes to port 22 of the private
host. This stand-in does the same with plain TCP to the sandbox's foreman host (an sshd on
loopback), so the sandbox runs the code path AWS runs: ProxyCommand, then sshd, then the
database tunnel inside SSH. Only 127.0.0.1 is accepted: the sandbox never leaves loopback.

    python ops/sandbox/open_tunnel.py --instance-id 127.0.0.1 --remote-port 24522

It uses the standard library only (a ProxyCommand starts in whatever directory the caller
is in) and exits when either side closes.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys

LOOPBACK = "127.0.0.1"
_CHUNK = 65536


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="plain-TCP stand-in for open-tunnel")
    parser.add_argument("--instance-id", required=True, help="the host (127.0.0.1 only)")
    parser.add_argument("--remote-port", required=True, type=int, help="its SSH port")
    args = parser.parse_args(argv)
    if args.instance_id != LOOPBACK:
        print(f"error: the sandbox tunnels to {LOOPBACK} only, not {args.instance_id!r}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        upstream = socket.create_connection((LOOPBACK, args.remote_port), timeout=10)
    except OSError as exc:
        print(f"error: cannot reach {LOOPBACK}:{args.remote_port}: {exc}", file=sys.stderr)
        return 1
    upstream.settimeout(None)
    pump(sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno(), upstream)
    return 0


def pump(read_fd: int, write_fd: int, upstream: socket.socket) -> None:
    """Copy stdin to the socket and the socket to stdout until either side ends."""
    selector = selectors.DefaultSelector()
    selector.register(read_fd, selectors.EVENT_READ, "in")
    selector.register(upstream, selectors.EVENT_READ, "up")
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "in":
                    data = os.read(read_fd, _CHUNK)
                    if not data:
                        return
                    upstream.sendall(data)
                else:
                    data = upstream.recv(_CHUNK)
                    if not data:
                        return
                    _write_all(write_fd, data)
    except (BrokenPipeError, ConnectionError):
        return
    finally:
        selector.close()
        upstream.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    sys.exit(main())
