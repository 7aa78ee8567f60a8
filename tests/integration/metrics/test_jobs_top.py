"""`inv jobs.top --once` draws the metrics layer's figures, with failure reasons grouped and
shown as written (markup in a reason is text, not styling)."""

from __future__ import annotations

import pytest

from tests.integration.metrics.conftest import add_job

pytestmark = pytest.mark.integration


def test_one_frame_shows_queues_and_grouped_reasons_escaped(env, conn, inv):
    for _ in range(2):
        add_job(conn, kind="download", queue="spot", age_seconds=600)
    for job in (17, 4242):
        add_job(conn, kind="download", queue="spot", state="failed", attempt=3,
                reason=f"[red]disk full[/red] on /data/lake/raw/{job}.fastq")  # fmt: skip
    add_job(conn, kind="process", state="running", attempt=1, heartbeat_age=3600)

    result = inv("jobs.top", "-e", env.name, "--once")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no foreman is leading" in out
    spot_row = next(line for line in out.splitlines() if "spot" in line and "download" in line)
    assert spot_row.split("│")[3].strip() == "2"  # pending
    assert spot_row.split("│")[4].strip() == "10 min"  # oldest pending
    default_row = next(line for line in out.splitlines() if "default" in line)
    assert default_row.split("│")[8].strip() == "1"  # one stale heartbeat
    assert "[red]disk full[/red] on <path>" in out  # grouped, and markup left as text
    reason_row = next(line for line in out.splitlines() if "disk full" in line)
    assert reason_row.split("│")[1].strip() == "2"
    assert "backup: none recorded" in out and "lake check: never" in out


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("0", "--interval must be at least 0.1, not 0"),
        ("soon", "--interval must be a number, not 'soon'"),
        ("１", "--interval must be a number, not '１'"),
        ("4000", "--interval must be at most 3600, not 4000"),
    ],
)
def test_a_bad_interval_is_a_one_line_error_from_the_task_bounds(env, inv, interval, message):
    result = inv("jobs.top", "-e", env.name, "--interval", interval)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
