"""`inv` imports only the areas a command names: each area's collection must bear its name."""

from __future__ import annotations

import importlib

import pytest

from ops import tasks


def test_every_area_collection_is_named_after_its_module():
    for name in tasks.AREA_NAMES:
        assert importlib.import_module(f"ops.{name}.tasks").ns.name == name


def test_the_full_collection_has_every_area_and_the_top_level_rollback():
    assert set(tasks.ns.collections) == set(tasks.AREA_NAMES)  # pytest's argv names no task
    assert "rollback" in tasks.ns.tasks


@pytest.mark.parametrize(
    ("argv", "areas"),
    [
        (["/venv/bin/inv", "lake.check", "-e", "local", "--checksums"], {"lake"}),
        (["/venv/lib/invoke/__main__.py", "bench.lake", "db.migrate"], {"bench", "db"}),
        (["/venv/bin/inv", "--list"], None),
        (["/venv/bin/inv", "-l", "lake"], None),
        (["/venv/bin/inv", "rollback", "-e", "prod"], None),
        (["/venv/bin/inv"], None),
        (["/venv/bin/pytest", "lake.check"], None),
        (["/venv/lib/other/__main__.py", "lake.check"], None),
    ],
)
def test_inv_imports_only_the_areas_a_command_line_names(argv, areas):
    assert tasks.requested_areas(argv) == areas
