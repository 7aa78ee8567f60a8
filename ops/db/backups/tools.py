"""The PostgreSQL client programs backups run, and facts about them.

Always the embedded wheel's PostgreSQL 18 tools: they can dump any older server too, and
their pg_dump decides which compression methods exist.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

from common.embedded import postgres_bin
from common.shell import run_command

# Fastest first: lz4 and zstd at level 1 beat gzip by far when the build has them; gzip:1 is
# the fastest gzip level (measured: gzip:1 dumps ~2.5x faster than the default gzip:6 here).
COMPRESSION_PREFERENCE = ("lz4:1", "zstd:1", "gzip:1")


def tool(name: str) -> Path:
    return postgres_bin(name)


def parallel_jobs() -> int:
    return max(1, os.cpu_count() or 1)


@cache
def tool_version(name: str = "pg_dump") -> str:
    return run_command([tool(name), "--version"], timeout=30).stdout.strip()


@cache
def fastest_compression() -> str:
    """The first method in COMPRESSION_PREFERENCE this pg_dump was built with.

    pg_dump checks the compression specification before it connects, so asking it to dump
    from a server that is not there tells support apart from a connection failure.
    """
    with tempfile.TemporaryDirectory() as scratch:
        for spec in COMPRESSION_PREFERENCE:
            result = run_command(
                [tool("pg_dump"), "-Fd", "-Z", spec, "-f", Path(scratch) / spec, "-d",
                 "host=127.0.0.1 port=1 connect_timeout=1 dbname=none"],
                check=False, timeout=30,
            )  # fmt: skip
            if "not support" not in result.stderr and "invalid compression" not in result.stderr:
                return spec
    return "gzip:1"
