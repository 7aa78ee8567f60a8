"""Any scheduled job on a timer: units and cron lines for each, and each run recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ops.schedule.jobs import SCHEDULED_JOBS
from ops.schedule.units import cron_file, systemd_units
from tests.support.metadata_fixtures import fill, redcap  # noqa: F401
from tests.support.redcap import TOKEN

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
INV = Path(sys.executable).with_name("inv")
EVERY_JOB = {
    "backup": "*-*-* 02:00:00",
    "seal": "*:0/30",
    "metadata_sync": "*-*-* 03:15:00",
    "lake_check": "weekly",
}


@pytest.fixture
def scheduled_env(make_env, redcap, monkeypatch):  # noqa: F811
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", TOKEN)
    env = make_env(
        "timers",
        schedule=EVERY_JOB,
        metadata={"project": "CRC", "redcap_url": redcap.url, "overlap_minutes": 0},
    )
    subprocess.run(
        [INV, "projects.add", "-e", env.name, "CRC", "--title", "Colorectal", "--owner", "lab",
         "--schema-version", "1"],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    fill(redcap.project, 2)
    return env


def _inv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([INV, *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_every_scheduled_job_gets_a_service_a_timer_and_a_cron_line(scheduled_env, tmp_path):
    units = {unit.path.name: unit.text for unit in systemd_units(scheduled_env, tmp_path)}
    for job in SCHEDULED_JOBS:
        base = f"refinery-{job}-{scheduled_env.name}"
        assert f"{base}.service" in units and f"{base}.timer" in units, job
        expression = EVERY_JOB[job.replace("-", "_")]
        assert f"OnCalendar={expression}\n" in units[f"{base}.timer"]
    assert "db.scheduled-backup -e timers" in units[f"refinery-backup-{scheduled_env.name}.service"]
    for job in ("seal", "metadata-sync", "lake-check"):
        service = units[f"refinery-{job}-{scheduled_env.name}.service"]
        assert f"schedule.run -e timers {job}\n" in service
    cron = cron_file(scheduled_env, tmp_path).text.splitlines()
    assert "15 3 * * * root" in " ".join(cron) and "0 0 * * 1 root" in " ".join(cron)
    assert sum("root cd " in line for line in cron) == len(SCHEDULED_JOBS)


@pytest.mark.slow
def test_a_run_of_each_job_is_recorded_and_status_shows_every_job(scheduled_env):
    for job in SCHEDULED_JOBS:
        result = _inv("schedule.run", "-e", scheduled_env.name, job)
        assert result.returncode == 0, f"{job}: {result.stderr}"
    status = _inv("schedule.status", "-e", scheduled_env.name, "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    by_job = {summary["job"]: summary for summary in report["jobs"]}
    assert set(by_job) == set(SCHEDULED_JOBS)
    for job, summary in by_job.items():
        assert summary["last_ok"] is True, (job, summary)
        assert summary["schedule"] == EVERY_JOB[job.replace("-", "_")]
        assert 0 <= summary["last_success_age_seconds"] < 600
    assert sorted(run["job"] for run in report["runs"]) == sorted(SCHEDULED_JOBS)
    # The metadata sync really applied the records: a second run finds nothing new.
    again = _inv("metadata.sync", "-e", scheduled_env.name, "--json")
    assert again.returncode == 0, again.stderr


def test_a_failing_job_is_recorded_as_failed_and_its_last_success_stays(scheduled_env):
    assert _inv("schedule.run", "-e", scheduled_env.name, "lake-check").returncode == 0
    lake = Path(scheduled_env.lake.root)
    (lake / "raw").mkdir(parents=True, exist_ok=True)
    (lake / "raw" / "orphan.fastq").write_text("not in the catalog\n")
    failed = _inv("schedule.run", "-e", scheduled_env.name, "lake-check")
    assert failed.returncode != 0
    assert failed.stderr.strip().count("\n") == 0 and "Traceback" not in failed.stderr
    report = json.loads(_inv("schedule.status", "-e", scheduled_env.name, "--json").stdout)
    lake_check = next(s for s in report["jobs"] if s["job"] == "lake-check")
    assert lake_check["last_ok"] is False
    assert lake_check["last_success_at"] is not None


def test_an_unknown_job_is_refused_in_one_line(scheduled_env):
    result = _inv("schedule.run", "-e", scheduled_env.name, "reindex")
    assert result.returncode == 2
    assert "unknown scheduled job 'reindex'" in result.stderr
    assert result.stderr.strip().count("\n") == 0
