"""The sandbox's stand-in for Docker's awslogs log driver: the foreman's output into CloudWatch.

On AWS the foreman host's unit runs the foreman container with `--log-driver awslogs`, and the
Docker daemon sends every line to the stack's log group, stream `refinery-foreman/<hostname>`,
where `inv logs -e ENV` reads it. That driver takes its AWS credentials from the daemon's own
environment, which the sandbox cannot set on a Docker engine it may share. So the sandbox's
unit starts this follower beside the container instead:

    python -m ops.sandbox.log_follower -e sandbox CONTAINER_ID

It reads the container's output through the Engine API and sends it to the same group and
stream with PutLogEvents, a batch at least every second, until the container stops or it is
sent SIGTERM; either way what it has read is sent before it exits.
"""

from __future__ import annotations

import argparse
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import datetime
from typing import Any

import docker

from common.environments import Environment, load_environment
from common.errors import RefineryError, first_line
from common.signals import leave_termination_signals_to_main_thread
from ops.sandbox import emulator
from ops.sandbox.foreman_host import host_outputs

FLUSH_SECONDS = 1.0
MAX_BATCH = 1_000  # events per PutLogEvents (CloudWatch allows 10,000 and 1 MB)
MAX_MESSAGE = 200_000  # bytes of one event (CloudWatch allows 256 KB)
UNIT_NAME = "refinery-foreman"  # the unit's container name on AWS, the stream's first part
_END = None


def stream_name() -> str:
    """`refinery-foreman/<hostname>`, as the unit's `awslogs-stream` names it."""
    return f"{UNIT_NAME}/{socket.gethostname()}"


def log_event(line: bytes) -> dict[str, Any]:
    """A CloudWatch event from one line of `docker logs --timestamps` (`<RFC 3339> <text>`)."""
    stamp, _, text = line.partition(b" ")
    try:
        # Docker writes nanoseconds; milliseconds are what CloudWatch keeps.
        seconds, _, fraction = stamp.decode("ascii").rstrip("Z").partition(".")
        moment = datetime.fromisoformat(seconds + "+00:00")
        milliseconds = int(moment.timestamp() * 1000) + int((fraction + "000")[:3])
    except (UnicodeDecodeError, ValueError):
        milliseconds, text = int(time.time() * 1000), line
    message = text.decode("utf-8", errors="backslashreplace")[:MAX_MESSAGE]
    return {"timestamp": milliseconds, "message": message or " "}


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Whole lines from the Engine API's chunks (a chunk may hold part of a line, or several)."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        yield from complete
    if rest:
        yield rest


class LogFollower:
    """Sends one container's output to one CloudWatch stream."""

    def __init__(self, env: Environment, container_id: str, group: str) -> None:
        self.container_id = container_id
        self.group = group
        self.stream = stream_name()
        self.logs = emulator.client(env, "logs")
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.sent = 0

    def run(self, stopping: threading.Event) -> int:
        """Follow until the container stops or `stopping` is set; returns the events sent."""
        self._create_stream()
        threading.Thread(target=self._read, name="docker-logs", daemon=True).start()
        pending: list[dict[str, Any]] = []
        while not stopping.is_set():
            try:
                event = self.lines.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                self._send(pending)
                continue
            if event is _END:
                break
            pending.append(event)
            if len(pending) >= MAX_BATCH:
                self._send(pending)
        while not self.lines.empty():  # stopped: what was read is still sent
            event = self.lines.get_nowait()
            if event is not _END:
                pending.append(event)
        self._send(pending)
        return self.sent

    def _create_stream(self) -> None:
        exists = self.logs.exceptions.ResourceAlreadyExistsException
        with suppress(exists):
            self.logs.create_log_group(logGroupName=self.group)
        with suppress(exists):
            self.logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)

    def _read(self) -> None:
        leave_termination_signals_to_main_thread()
        client = docker.from_env()  # a followed stream has no read timeout (docker-py lifts it)
        try:
            container = client.containers.get(self.container_id)
            chunks = container.logs(stream=True, follow=True, timestamps=True)
            for line in lines_of(chunks):
                self.lines.put(log_event(line))
        except Exception as exc:  # the container is gone, or the engine: nothing more to read
            print(f"log follower: {first_line(exc)}", file=sys.stderr)
        finally:
            client.close()
            self.lines.put(_END)

    def _send(self, pending: list[dict[str, Any]]) -> None:
        if not pending:
            return
        events = sorted(pending, key=lambda event: event["timestamp"])
        pending.clear()
        try:
            self.logs.put_log_events(
                logGroupName=self.group, logStreamName=self.stream, logEvents=events
            )
        except Exception as exc:  # the emulator went away (sandbox.down): these lines are lost
            print(f"log follower: {len(events)} lines not sent: {first_line(exc)}", file=sys.stderr)
            return
        self.sent += len(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="log_follower", description=__doc__.split("\n")[0])
    parser.add_argument("-e", "--env", required=True)
    parser.add_argument("container_id")
    args = parser.parse_args(argv)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    try:
        env = load_environment(args.env)
        group = str(host_outputs(env)["log_group_name"])
        sent = LogFollower(env, args.container_id, group).run(stopping)
    except RefineryError as exc:
        print(f"log follower: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"log follower: {sent} lines of {args.container_id[:12]} sent to {group}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
