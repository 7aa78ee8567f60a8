"""Which tests must share a pytest-xdist worker, and the worker's own name.

`scripts/ci-test.sh` runs the suite on several workers with `--dist loadgroup`: a test without
a group goes to whichever worker is free, the tests of one `xdist_group` all go to one worker,
in order. Every worker is its own pytest session, so what a session fixture starts (the
embedded PostgreSQL, the moto server, sshd) is private to it, on free ports, in a state folder
named after the worker. Two things are not private and are grouped here:

- the sandbox's fixed ports: `inv sandbox.up` listens on the ports of the shipped sandbox
  environment, so the tests that bring it up (marked `sandbox_ports`) run one after another on
  one worker.
- the machine's one Docker engine: every other test that needs it (its fixture closure holds
  `docker_engine`, or it is marked `docker`) runs on one worker too — builds and containers
  are the heaviest work of the run, and one line of them beside the sandbox's keeps the two
  cores busy without crowding them. The two groups share the engine: the session that started
  dockerd stops it only once no other session holds it (tests/support/docker_services.py).
- a module-scoped fixture (a deployed staging, a hostile console, a release repository): it is
  built once per worker that runs the module, so the tests of such a module stay together and
  it is built once.

A worker also starts with a terminal size of its own in its environment (COLUMNS=80, LINES=24,
whatever the terminal the suite was started from): a console made at import would keep that
width for the worker's life, so each worker gets the controller's values back.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

ENGINE_GROUP = "docker-engine"
SANDBOX_GROUP = "sandbox-ports"
SANDBOX_MARKER = "sandbox_ports"
ENGINE_FIXTURES = frozenset({"docker_engine"})
ENGINE_MARKER = "docker"
SLOW_MARKER = "slow"
SHARED_SCOPES = frozenset({"module", "package", "class"})
TERMINAL_VARIABLES = ("COLUMNS", "LINES")
TERMINAL_INPUT = "refinery_terminal"


def worker_name() -> str:
    """`gw0`, `gw1`… under xdist; `main` in a run without workers."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def xdist_group_for(item: pytest.Item) -> str | None:
    """The group `item` must run in, or None when any worker will do."""
    if item.get_closest_marker("xdist_group") is not None:
        return None  # the test chose its own
    if item.get_closest_marker(SANDBOX_MARKER) is not None:
        return SANDBOX_GROUP
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & ENGINE_FIXTURES or item.get_closest_marker(ENGINE_MARKER) is not None:
        return ENGINE_GROUP
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    if any(defs and defs[-1].scope in SHARED_SCOPES for defs in definitions):
        return item.nodeid.split("::", 1)[0]
    return None


def group_items(items: list[pytest.Item]) -> None:
    """Add the `xdist_group` mark each item needs (before xdist reads the marks); every test
    of the engine's and the sandbox's groups is also marked `docker`, so `-m "not docker"`
    leaves them all, and `slow`: they run one after another on their worker (image builds,
    containers, the sandbox), the longest lines of the whole run, which the quick loop leaves
    out."""
    for item in items:
        group = xdist_group_for(item)
        if group is None:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
        if group in (ENGINE_GROUP, SANDBOX_GROUP):
            for marker in (ENGINE_MARKER, SLOW_MARKER):
                if item.get_closest_marker(marker) is None:
                    item.add_marker(marker)


def controller_terminal() -> dict[str, str | None]:
    """The controller's terminal variables, to hand to each worker (None: not set)."""
    return {name: os.environ.get(name) for name in TERMINAL_VARIABLES}


def restore_terminal(workerinput: dict[str, Any]) -> None:
    """On a worker: the terminal variables exactly as the controller had them."""
    for name, value in workerinput.get(TERMINAL_INPUT, {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
