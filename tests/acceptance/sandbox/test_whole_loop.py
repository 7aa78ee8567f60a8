"""The whole cloud loop on the sandbox, through `inv` in subprocesses, nothing injected.

`inv sandbox.up` starts the staging shape on loopback (the shipped `sandbox` environment, in a
state folder of its own); the release is deployed to it as to staging; a synthetic delivery
is uploaded to the emulator's S3, as a sequencing core would; then every step an operator
takes in the cloud: survey from S3 (the foreman on its host dispatches survey, downloads and
QC to Batch, whose jobs run as containers of the workers image), job status, a worker's logs,
a lake check with checksums, sealing, an off-site backup and its verification, a deletion, a
restore that stops the writers (the foreman over SSH, the Batch jobs) and starts them again,
a rollback, and `inv sandbox.down`.

Two rounds on the same sandbox: the first is the README's walkthrough run as written
(tests/acceptance/sandbox/walkthrough.py: up, deploy, a survey from S3, status, logs, a lake
check, an off-site backup, a restore, a second release, a rollback, down), the second the loop
above, whose `up` finds the first round's data and whose deploy finds its stack. The test
prints the wall time and how many Batch API calls the emulator served.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from ops.local.demo_data import write_demo_delivery
from tests.acceptance.sandbox.conftest import Sandbox, upload_folder
from tests.acceptance.sandbox.walkthrough import run_the_walkthrough

pytestmark = [pytest.mark.acceptance, pytest.mark.docker, pytest.mark.sandbox_ports]

FIRST, SECOND = "v0.1.0-dev", "v0.1.1-dev"
JOBS_TIMEOUT_S = 600
TERMINAL = {"succeeded", "failed", "cancelled"}


def upload_delivery(work: Path) -> str:
    """A synthetic delivery in the deliveries bucket; its s3:// prefix."""
    delivery = write_demo_delivery(work / "delivery", samples=2, reads=400)
    return upload_folder(delivery.folder)


def wait_for_jobs(box: Sandbox) -> dict[tuple[str, str], int]:
    deadline = time.monotonic() + JOBS_TIMEOUT_S
    while True:
        counts = box.job_counts()
        done = counts and all(state in TERMINAL for _, state in counts)
        kinds = {kind for kind, _ in counts}
        failed = any(state != "succeeded" for _, state in counts)
        if done and ({"survey", "download", "process"} <= kinds or failed):
            return counts
        if time.monotonic() > deadline:
            pytest.fail(f"jobs did not finish within {JOBS_TIMEOUT_S} s: {counts}")
        time.sleep(3)


def run_the_loop(box: Sandbox, work: Path) -> None:
    box.ok("sandbox.up", timeout=1800)
    deployed = box.ok("deploy", "-e", "sandbox", "-v", FIRST, timeout=1800)
    assert f"deploy {FIRST} to sandbox: succeeded" in deployed
    # On call, through the way in staging uses (the endpoint's stand-in, then sshd, then the
    # database forwarded inside SSH): the foreman the deploy started leads, at the release.
    status = json.loads(box.ok("foreman.status", "-e", "sandbox", "--json"))
    assert status["way_in"] == "instance_connect_endpoint"
    leaders = [f for f in status["foremen"] if f["role"] == "leader"]
    assert leaders and leaders[0]["version"] == FIRST, status

    source = upload_delivery(work)
    queued = json.loads(box.ok("jobs.survey", "-e", "sandbox", source, "--json"))
    survey_id = queued["job_id"]
    counts = wait_for_jobs(box)
    failures = json.loads(box.ok("jobs.status", "-e", "sandbox", "--json"))["recent_failures"]
    assert {state for _, state in counts} == {"succeeded"}, (counts, failures)
    assert counts[("download", "succeeded")] >= 4  # two samples, paired-end

    logs = box.ok("logs", "-e", "sandbox", "--job", str(survey_id))
    assert "surveyed delivery" in logs
    # The foreman's own lines, in the stack's group as the unit's log driver sends them on AWS.
    foreman_lines = box.ok("logs", "-e", "sandbox", "--filter", "dispatched")
    assert "refinery-foreman/" in foreman_lines and "dispatched" in foreman_lines
    services = {row["name"]: row for row in json.loads(box.ok("sandbox.status", "--json"))}
    assert services["foreman logs (to CloudWatch)"]["state"] == "running"

    box.ok("lake.check", "-e", "sandbox", "--checksums")
    box.ok("analyses.seal", "-e", "sandbox")
    box.ok("db.backup", "-e", "sandbox", "--offsite")
    box.ok("db.verify", "-e", "sandbox", "latest")

    [experiment, *_] = box.sql("SELECT accession FROM experiments ORDER BY id")
    box.ok("data.delete", "-e", "sandbox", "--experiment", experiment, "--execute")
    assert experiment not in box.sql("SELECT accession FROM experiments")
    box.ok("lake.check", "-e", "sandbox")

    restored = box.ok("db.restore", "-e", "sandbox", "latest", "--execute", "--yes")
    assert "the foreman was started again on 127.0.0.1:24522" in restored
    assert experiment in box.sql("SELECT accession FROM experiments")  # the backup's data
    heartbeat = box.sql(
        "SELECT version FROM foreman_heartbeats WHERE role <> 'stopped' "
        "AND beat_at > now() - interval '30 seconds'"
    )
    assert heartbeat, "no foreman beats after the restore"
    # The foreman stopped for the restore said so, and its last line was sent before it went.
    stopped = box.ok("logs", "-e", "sandbox", "--filter", "stopped")
    assert re.search(r"foreman \S+ stopped", stopped), stopped

    box.ok("deploy", "-e", "sandbox", "-v", SECOND, timeout=1800)
    box.ok("rollback", "-e", "sandbox", timeout=900)
    history = json.loads(box.ok("deploy.history", "-e", "sandbox", "--json"))
    assert history[0]["action"] == "rollback" and history[0]["version"] == FIRST

    down = json.loads(box.ok("sandbox.down", "--json"))
    assert all(row["state"] != "running" for row in down), down


@pytest.mark.timeout(5400)
def test_the_readme_walkthrough_then_the_whole_loop_on_one_sandbox(sandbox, tmp_path):
    started = time.monotonic()
    run_the_walkthrough(sandbox)
    run_the_loop(sandbox, tmp_path / "second-round")
    seconds = time.monotonic() - started
    # The emulator logs every request; Batch's API is the /v1/ paths.
    calls = len(re.findall(r'"(?:GET|POST) /v1/', sandbox.emulator_log().read_text()))
    print(f"\nwalkthrough + whole loop: {seconds:.0f} s wall time, {calls} Batch API calls")
    password = (sandbox.state / "sandbox" / "database-password").read_text().strip()
    for text in sandbox.outputs:
        assert password not in text
