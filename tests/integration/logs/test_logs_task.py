"""`inv logs`: CloudWatch Logs (moto, read through awslogs) and local files."""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
import pytest

from common.environments import REPO_ROOT, load_environment
from foreman.executors.local import worker_log_path
from tests.support.environments import write_environment

pytestmark = pytest.mark.integration


def _inv(*args):
    return subprocess.run(
        [sys.executable, "-m", "invoke", "logs", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


def test_logs_reads_cloudwatch_through_awslogs_with_filter(session_dirs, moto_server):
    write_environment(
        session_dirs["environments"],
        "cwlogs",
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "lake"},
            "executor": {"kind": "batch"},
            "aws": {"endpoint_url": moto_server.endpoint_url},
            "logs": {"kind": "cloudwatch", "group": "/refinery/cwlogs"},
        },
    )
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/refinery/cwlogs")
    logs.create_log_stream(logGroupName="/refinery/cwlogs", logStreamName="foreman/1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/refinery/cwlogs",
        logStreamName="foreman/1",
        logEvents=[
            {"timestamp": now - 7_200_000, "message": "dispatched job 1 long ago"},
            {"timestamp": now - 1000, "message": "dispatched job 5"},
            {"timestamp": now, "message": "job 5 failed: checksum mismatch"},
        ],
    )
    everything = _inv("-e", "cwlogs")
    assert everything.returncode == 0, everything.stderr
    assert "dispatched job 5" in everything.stdout
    assert "checksum mismatch" in everything.stdout
    assert "long ago" not in everything.stdout  # older than the default --since 1h
    wider = _inv("-e", "cwlogs", "--since", "3h", "--filter", "dispatched")
    assert wider.returncode == 0, wider.stderr
    assert "dispatched job 1 long ago" in wider.stdout and "dispatched job 5" in wider.stdout
    assert "checksum" not in wider.stdout


def test_logs_reads_local_files_of_one_job(session_dirs):
    write_environment(
        session_dirs["environments"],
        "filelogs",
        {
            "database": {"kind": "embedded"},
            "lake": {"backend": "filesystem", "root": "lake"},
            "executor": {"kind": "local"},
        },
    )
    env = load_environment("filelogs")
    (env.state_dir / "foreman.log").write_text("dispatched job 3\n")
    worker_log_path(env, 3, 1).parent.mkdir(parents=True, exist_ok=True)
    worker_log_path(env, 3, 1).write_text("[INFO] surveying PRJEB1\n[ERROR] no such accession\n")
    result = _inv("-e", "filelogs", "--job", "3", "--filter", "ERROR")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "job-3-1.log [ERROR] no such accession"
    everything = _inv("-e", "filelogs")
    assert "dispatched job 3" in everything.stdout and "surveying" in everything.stdout
    missing = _inv("-e", "filelogs", "--job", "4")
    assert missing.returncode != 0 and "no log for job 4" in missing.stderr
    bad = _inv("-e", "filelogs", "--since", "soon")
    assert bad.returncode != 0 and "invalid --since" in bad.stderr
