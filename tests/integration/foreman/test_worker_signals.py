"""SIGTERM always reaches the worker's main thread, never its heartbeat thread.

If the kernel handed a process-directed SIGTERM to the heartbeat thread, a handler sleeping or
reading on the main thread would not be interrupted until that call ended (seen as a worker
that ignored SIGTERM for the length of its sleep). The heartbeat thread must block it; this
reads the real thread's blocked-signal mask from /proc.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from foreman.jobs import enqueue_job, get_job
from workers.runtime import Heartbeat

pytestmark = pytest.mark.integration


def _blocked_signals(native_thread_id: int) -> set[int]:
    status = Path(f"/proc/self/task/{native_thread_id}/status").read_text()
    mask = int(
        next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
    )
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}


def test_heartbeat_thread_blocks_sigterm_and_sigint(env, conn):
    job_id, _ = enqueue_job(conn, "process", {"application": "no_op"})
    conn.commit()
    heartbeat = Heartbeat(env, get_job(conn, job_id))
    heartbeat.start()
    try:
        deadline = time.monotonic() + 5
        blocked: set[int] = set()
        while time.monotonic() < deadline and signal.SIGTERM not in blocked:
            blocked = _blocked_signals(heartbeat._thread.native_id)
            time.sleep(0.01)
    finally:
        heartbeat.stop()
    assert {signal.SIGTERM, signal.SIGINT} <= blocked
    assert signal.SIGTERM not in _blocked_signals(__import__("threading").get_native_id())
