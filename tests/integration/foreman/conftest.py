from __future__ import annotations

import pytest

from tests.support.foreman import HANDLER_MODULES


@pytest.fixture(autouse=True)
def test_handlers(monkeypatch):
    """Workers started by these tests (and in-process runs) also load the test handlers."""
    monkeypatch.setenv("REFINERY_HANDLER_MODULES", HANDLER_MODULES)


@pytest.fixture
def processes():
    """Subprocesses a test starts; whatever is still running at the end is stopped by pid."""
    from tests.support.services import stop_process

    started = []
    yield started
    for process in started:
        stop_process(process)
