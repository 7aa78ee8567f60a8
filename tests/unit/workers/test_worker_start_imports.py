"""What a worker pays at start: its entry point and the one module its job's application
names. polars (dataset building's and the gene-level summary's) and numpy (RMA's, the
summaries') are imported only when a job that computes with them runs. A spare worker also
imports the applications declared `preload = true` before its job arrives, which are light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common.applications import applications
from common.environments import REPO_ROOT

PROBE = """
import json, sys, workers.__main__
from workers.registry import handler_for
handler_for({kind!r}, {name!r})
print(json.dumps([name for name in ("numpy", "polars") if name in sys.modules]))
"""


def _imported_for(kind: str, name: str) -> list[str]:
    shown = subprocess.run(
        [sys.executable, "-c", PROBE.format(kind=kind, name=name)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(shown.stdout)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("download", "download"), ("process", "salmon"), ("process", "no_op"),
     ("survey", "delivery")],
)  # fmt: skip
def test_a_worker_running_a_light_job_imports_no_numeric_library(kind, name):
    assert _imported_for(kind, name) == []


def test_a_worker_running_a_dataset_build_imports_what_it_computes_with():
    assert "numpy" in _imported_for("dataset", "matrices")


SPARE_PROBE = """
import io, json, sys
from common.embedded import without_starting
from common.environments import load_environment
from workers.standby import wait_for_job
# No database runs for this spare (and none may start), and its standard input ends at once:
# it opens no connection, preloads, reads no order and ends having run nothing.
with without_starting():
    code = wait_for_job(load_environment("local"), io.StringIO(""))
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_a_spare_worker_has_imported_every_preloaded_application_and_no_numeric_library(tmp_path):
    preloaded = {a.module for a in applications().values() if a.preload}
    assert {"workers.processors.quantify", "workers.downloaders.download"} <= preloaded
    shown = subprocess.run(
        [sys.executable, "-c", SPARE_PROBE], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=120, check=True, env={"PATH": "/usr/bin:/bin", "REFINERY_STATE_DIR": str(tmp_path)},
    )  # fmt: skip
    spare = json.loads(shown.stdout.splitlines()[-1])
    assert spare["code"] == 0
    assert preloaded <= set(spare["modules"])
    assert not {"numpy", "polars"} & set(spare["modules"])
    assert not (tmp_path / "postgres").exists()
