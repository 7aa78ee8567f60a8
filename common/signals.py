"""Keeping termination signals on the main thread.

The kernel may deliver a process-directed SIGTERM to any thread that does not block it. If a
background thread takes it, CPython still runs the Python handler on the main thread — but
only when that thread next runs bytecode, so a main thread blocked in `sleep()` or a long
read is not woken and the signal waits until the call ends. Background threads therefore
block the signals the main thread handles, which leaves the main thread as the only target.
"""

from __future__ import annotations

import signal

TERMINATION_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def leave_termination_signals_to_main_thread() -> None:
    """Call first thing in a background thread: it will never receive SIGTERM or SIGINT."""
    signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATION_SIGNALS)
