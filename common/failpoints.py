"""Failpoints: named places where a fault can be injected from outside the process.

Code that must survive a failure at a precise moment (a deletion between its row changes and
its commit, an upload between two parts, a deploy between two steps) marks that moment with
`failpoint("area.moment")`. Nothing happens there unless the variable `REFINERY_FAILPOINTS`
names it, so tests (and a curious operator) can make the real code fail at that moment
without any parameter or hook in its signature:

    REFINERY_FAILPOINTS="data.delete.rows"                  raise FailpointError there
    REFINERY_FAILPOINTS="data.delete.rows=kill"             die at once (SIGKILL: no cleanup)
    REFINERY_FAILPOINTS="deploy.step.migrate=interrupt"     as if Ctrl-C was pressed there
    REFINERY_FAILPOINTS="lake.s3.upload_part=error@2"       only on the 2nd time it is reached

Entries are separated by commas. `@N` counts, per process, how often that failpoint has been
reached since the variable last changed; without it the failpoint fires every time. The
variable is read here and nowhere else, on every call, so a test may set it for one call and
clear it afterwards.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

from common.errors import RefineryError
from common.inputs import is_digits

VARIABLE = "REFINERY_FAILPOINTS"
ACTIONS = ("error", "kill", "interrupt")

_reached: Counter[str] = Counter()
_counted_for = [""]  # the variable's value the counts belong to
_lock = threading.Lock()


class FailpointError(RefineryError):
    """Raised where a failpoint set to `error` is reached (an ordinary, recoverable failure)."""


def armed(value: str) -> dict[str, tuple[str, int | None]]:
    """{name: (action, nth time or None for every time)} from the variable's `value`."""
    points: dict[str, tuple[str, int | None]] = {}
    for entry in value.split(","):
        name, _, rule = entry.strip().partition("=")
        if not name:
            continue
        action, _, nth = (rule or "error").partition("@")
        if action not in ACTIONS or (nth and not is_digits(nth)):
            raise FailpointError(
                f"{VARIABLE}: {entry.strip()!r} is not NAME[=error|kill|interrupt][@N]"
            )
        points[name] = (action, int(nth) if nth else None)
    return points


def failpoint(name: str) -> None:
    """Fail here if `REFINERY_FAILPOINTS` names `name` (see the module docstring)."""
    value = os.environ.get(VARIABLE, "")
    if not value:  # the common case costs one dictionary lookup
        return
    point = armed(value).get(name)
    if point is None:
        return
    action, nth = point
    with _lock:
        if _counted_for[0] != value:
            _reached.clear()
            _counted_for[0] = value
        _reached[name] += 1
        count = _reached[name]
    if nth is not None and count != nth:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "interrupt":
        raise KeyboardInterrupt(f"failpoint {name}")
    raise FailpointError(f"failure injected at failpoint {name}")
