"""Fixtures for the worker handlers: a loopback HTTP server on a thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.workers.servers import LoopbackHttpServer


@pytest.fixture
def http_server() -> Iterator[LoopbackHttpServer]:
    server = LoopbackHttpServer().start()
    yield server
    server.stop()
