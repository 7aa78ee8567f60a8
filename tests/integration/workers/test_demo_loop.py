"""The whole loop on the demo delivery: survey → downloads → QC → per-sample rows and report.

Jobs are run by the test's inline runner, so the handlers' results are checked without
processes in between; `run_demo` is driven with that runner on a thread. The same loop with the
real foreman and worker processes is `tests/acceptance/demo/test_local_demo.py`.
"""

from __future__ import annotations

import re
import threading

import pytest
from invoke.exceptions import Exit

from common.db import connect, transaction
from ops.local.demo import run_demo
from ops.local.demo_data import write_demo_delivery
from ops.local.qc_report import qc_rows, write_qc_report
from tests.integration.workers.jobrunner import run_all_pending
from workers.submit import job_tree_progress, submit_survey

pytestmark = pytest.mark.integration


def test_demo_delivery_runs_through_to_a_qc_report(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=3, reads=400)
    with transaction(env) as tx:
        root, payload = submit_survey(tx, str(delivery.folder))
    assert payload["source"] == "delivery"
    assert not job_tree_progress(conn, root).done
    run_all_pending(env, conn, tmp_path)
    progress = job_tree_progress(conn, root)
    assert (progress.total, progress.succeeded, progress.failed) == (1 + 6 + 3, 10, [])
    assert progress.done
    rows = qc_rows(env)
    assert [row["sample"] for row in rows] == ["S1", "S2", "S3"]
    assert all(row["reads"] == 800 and row["analysis_id"] for row in rows)
    gc = [row["gc_percent"] for row in rows]
    assert gc[0] < gc[1] < gc[2]  # generated at 41, 47 and 52 % GC
    quality = [row["mean_quality"] for row in rows]
    assert quality[0] > quality[1] > quality[2]
    report = write_qc_report(env, tmp_path / "report" / "qc.html")
    html = report.read_text()
    assert html.count("data:image/png;base64,") == 4
    assert len(re.findall(r"<td>DEMO-S\d-RUN1_L001</td>", html)) == 3
    assert "without QC results yet" not in html


def test_report_shows_experiments_still_waiting_for_qc(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=20)
    with transaction(env) as tx:
        submit_survey(tx, str(delivery.folder))
    run_all_pending(env, conn, tmp_path, kinds=("survey",))
    rows = qc_rows(env)
    assert len(rows) == 2 and all(row["reads"] is None for row in rows)
    html = write_qc_report(env, tmp_path / "qc.html").read_text()
    assert "2 without QC results yet" in html and "data:image/png" not in html


def test_run_demo_waits_for_the_jobs_then_prints_the_table_and_report(env, tmp_path, capsys):
    stop = threading.Event()

    def inline_foreman():
        worker_conn = connect(env)
        try:
            while not stop.is_set():
                if not run_all_pending(env, worker_conn, tmp_path / "worker"):
                    stop.wait(0.2)
        finally:
            worker_conn.close()

    thread = threading.Thread(target=inline_foreman, daemon=True)
    thread.start()
    try:
        run_demo(env, samples=2, reads=200, timeout=120)
    finally:
        stop.set()
        thread.join(30)
    out = capsys.readouterr().out
    assert "Per-sample QC" in out and "S2" in out
    report = env.state_dir / "reports" / "qc_report.html"
    assert f"QC report: {report}" in out.replace("\n", "")
    assert report.is_file()
    assert "inv local.down" in out


def test_run_demo_says_when_nothing_runs_the_jobs(env):
    with pytest.raises(Exit, match="is the foreman running"):
        run_demo(env, samples=1, reads=10, timeout=1)
