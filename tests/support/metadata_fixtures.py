"""Fixtures for metadata tests: a REDCap project on loopback, an environment whose
[metadata] section points at it, and the catalog project its records describe."""

from __future__ import annotations

import time

import pytest

from common import db
from common.projects import add_project
from tests.support.redcap import TOKEN, RedcapServer


@pytest.fixture
def redcap():
    server = RedcapServer()
    yield server
    server.stop()


@pytest.fixture
def metadata_env(make_env, redcap, monkeypatch):
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", TOKEN)
    env = make_env(
        "md",
        metadata={
            "project": "CRC",
            "redcap_url": redcap.url,
            "batch_size": 2,
            "overlap_minutes": 0,
        },
    )
    conn = db.connect(env)
    try:
        add_project(conn, "CRC", title="Colorectal cohort", owner="lab-crc", schema_version=1)
        conn.commit()
    finally:
        conn.close()
    return env


@pytest.fixture
def md_conn(metadata_env):
    conn = db.connect(metadata_env)
    yield conn
    conn.close()


def fill(project, count: int = 4) -> None:
    """`count` samples of two individuals per pair, all valid."""
    for number in range(1, count + 1):
        individual = f"PT{(number + 1) // 2}"
        project.put(
            f"S{number}",
            individual_id=individual,
            species="Homo sapiens",
            sex="female" if individual == "PT1" else "male",
            diagnosis="CRC",
            tissue="tumour" if number % 2 else "blood",
            collection_date=f"2026-02-0{number}",
        )


def settle() -> None:
    """Let REDCap's clock pass the second of the last change: it compares times to the second,
    so a sync started in the same second re-reads that change (harmlessly)."""
    time.sleep(1.1)
