"""A worker reads who it is the way the executors tell it (common/worker_identity.py)."""

from __future__ import annotations

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.worker_identity import (
    ARRAY_INDEX_VARIABLE,
    EXECUTOR_JOB_ID_VARIABLE,
    MEMORY_VARIABLE,
    array_index,
    child_job_id,
    executor_job_id,
    split_child_id,
    worker_memory_mb,
)
from tests.support.environments import write_environment


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    write_environment(tmp_path, "tiers", {
        "database": {"kind": "embedded"},
        "lake": {"backend": "filesystem", "root": "lake"},
        "executor": {"kind": "null", "memory_tiers_mb": [1024, 4096]},
    })  # fmt: skip
    return load_environment("tiers")


def test_an_array_child_id_splits_back_into_its_parent_and_index():
    assert split_child_id(child_job_id("a1b2-c3", 17)) == ("a1b2-c3", 17)
    assert split_child_id("a1b2-c3") is None
    assert split_child_id("a1b2:３") is None  # only ASCII digits are an index


def test_the_array_index_comes_from_batch_or_from_the_child_id(monkeypatch):
    monkeypatch.delenv(ARRAY_INDEX_VARIABLE, raising=False)
    monkeypatch.delenv(EXECUTOR_JOB_ID_VARIABLE, raising=False)
    assert (executor_job_id(), array_index()) == (None, 0)
    monkeypatch.setenv(EXECUTOR_JOB_ID_VARIABLE, "parent-9:41")  # all an emulator sets
    assert (executor_job_id(), array_index()) == ("parent-9:41", 41)
    monkeypatch.setenv(ARRAY_INDEX_VARIABLE, "7")
    assert array_index() == 7


def test_the_memory_is_what_the_executor_gave_else_the_tiers(env, monkeypatch):
    monkeypatch.delenv(MEMORY_VARIABLE, raising=False)
    assert [worker_memory_mb(env, tier) for tier in (0, 1, 5)] == [1024, 4096, 4096]
    monkeypatch.setenv(MEMORY_VARIABLE, "3000")
    assert worker_memory_mb(env, 0) == 3000
