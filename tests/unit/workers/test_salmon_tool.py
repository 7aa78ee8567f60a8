"""salmon as the workers call it: its version read from the program, and a clear, permanent
failure where it is not installed."""

from __future__ import annotations

import re

import pytest

from common.errors import PermanentJobError
from workers.processors.salmon_tool import salmon_version

pytestmark = pytest.mark.salmon


def test_the_installed_salmons_version_is_read():
    salmon_version.cache_clear()
    assert re.fullmatch(r"\d+\.\d+\.\d+", salmon_version())


def test_without_salmon_a_job_fails_for_good_saying_so(monkeypatch, tmp_path):
    salmon_version.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        with pytest.raises(PermanentJobError, match="salmon cannot run here"):
            salmon_version()
    finally:
        salmon_version.cache_clear()
