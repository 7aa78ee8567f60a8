"""The step report both the upgrade and the staging refresh write."""

from __future__ import annotations

import json
import time

from ops.stepreport import StepReport
from ops.upstream.report import UpgradeReport


def test_each_step_is_saved_as_it_ends_and_an_unfinished_run_stays_running(tmp_path):
    path = tmp_path / "reports" / "run.json"
    report = StepReport(path=str(path))
    report.record("first", True, "done", time.monotonic(), {"count": 2})
    saved = json.loads(path.read_text())
    assert saved["outcome"] == "running"
    assert [(s["name"], s["ok"], s["data"]) for s in saved["steps"]] == [
        ("first", True, {"count": 2})
    ]
    report.finish("failed", "second: broke")
    saved = json.loads(path.read_text())
    assert (saved["outcome"], saved["error"]) == ("failed", "second: broke")
    assert saved["finished_at"]
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # no temporary file left


def test_a_report_without_a_path_is_kept_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = UpgradeReport(kind="upstream", name="x", repository=str(tmp_path))
    report.run_step("check", lambda: ("clean", {}))
    assert [step.name for step in report.steps] == ["check"]
    assert list(tmp_path.iterdir()) == []
