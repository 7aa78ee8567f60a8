"""JSON logs are one setting away, and lines about a job, an environment or a host carry them
as fields: run the real foreman and worker with the JSON format and parse what they wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from common.environments import REPO_ROOT
from foreman.executors.local import worker_log_path
from tests.support.foreman import HANDLER_MODULES, enqueue, fetch, make_foreman_env, wait_until

pytestmark = pytest.mark.integration


def _foreman_until_idle(env, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "foreman", "run", "-e", env.name, "--until-idle"],
        cwd=REPO_ROOT,
        env={**os.environ, "REFINERY_HANDLER_MODULES": HANDLER_MODULES, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _records(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_the_foreman_and_its_workers_log_json_with_job_env_and_host_fields(make_env):
    env = make_foreman_env(make_env, "jsonlogs")
    (job_id,) = enqueue(env, "test_record")
    result = _foreman_until_idle(env, REFINERY_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    records = _records(result.stderr)
    leader = next(r for r in records if "is the leader" in r["message"])
    assert leader["env"] == env.name and leader["host"] and leader["foreman_id"]
    assert leader["level"] == "INFO" and leader["logger"] == "foreman.loop"
    started = next(r for r in records if r["message"] == "started worker")
    assert (started["job_id"], started["env"]) == (job_id, env.name)
    # The worker it started inherits the format: its own log is JSON, with the job's fields.
    wait_until(
        lambda: fetch(env, "SELECT state FROM jobs WHERE id = %s", (job_id,)) == [("succeeded",)],
        timeout=60,
        what="the job never succeeded",
    )
    worker = _records(worker_log_path(env, job_id, 1).read_text())
    done = next(r for r in worker if "succeeded" in r["message"])
    assert (done["job_id"], done["attempt"], done["env"]) == (job_id, 1, env.name)
    assert done["host"]


def test_the_environment_files_logs_format_selects_json(make_env):
    env = make_foreman_env(make_env, "jsonfile")
    path = env.path
    path.write_text(path.read_text() + '\n[logs]\nformat = "json"\n')
    variables = {key: value for key, value in os.environ.items() if key != "REFINERY_LOG_FORMAT"}
    result = subprocess.run(
        [sys.executable, "-m", "foreman", "run", "-e", env.name, "--until-idle"],
        cwd=REPO_ROOT,
        env={**variables, "REFINERY_HANDLER_MODULES": HANDLER_MODULES},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    stopped = [r for r in _records(result.stderr) if r["message"].startswith("stopped:")]
    assert stopped and stopped[0]["env"] == env.name


def test_text_stays_the_default(make_env):
    env = make_foreman_env(make_env, "textlogs")
    result = _foreman_until_idle(env)
    assert result.returncode == 0, result.stderr
    assert "INFO foreman.loop: foreman " in result.stderr
    assert not result.stderr.lstrip().startswith("{")
