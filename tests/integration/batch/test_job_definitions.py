"""Job definitions registered on moto's Batch: revisions, pruning, and refusing bad templates."""

from __future__ import annotations

import shutil
import subprocess
import sys

import boto3
import pytest

from common.applications import applications
from common.environments import REPO_ROOT, load_environment
from common.errors import ValidationError
from ops.batch import registration as registration_module
from ops.batch.definitions import TEMPLATES_DIR, job_definition_name, render_job_definitions
from ops.batch.registration import prune_job_definitions, register_job_definitions
from tests.support.environments import write_environment

pytestmark = pytest.mark.integration

OUTPUTS = {
    "batch_job_role_arn": "arn:aws:iam::123456789012:role/refinery-job",
    "log_group_name": "/aws/batch/job",
}


@pytest.fixture
def cloud_env(session_dirs, moto_server, request):
    name = "defs-" + request.node.name.split("_")[-1][:8].lower()
    write_environment(
        session_dirs["environments"],
        name,
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "lake"},
            "executor": {"kind": "batch", "memory_tiers_mb": [1024, 4096]},
            "aws": {"endpoint_url": moto_server.endpoint_url},
            "images": {"registry": "127.0.0.1:5000"},
            "outputs": OUTPUTS,
        },
    )
    return load_environment(name)


def _active(name):
    pages = boto3.client("batch").get_paginator("describe_job_definitions")
    return sorted(
        item["revision"]
        for page in pages.paginate(jobDefinitionName=name, status="ACTIVE")
        for item in page["jobDefinitions"]
        if item["status"] == "ACTIVE"
    )


def test_register_creates_a_revision_per_pipeline_and_tier_and_prune_keeps_newest(cloud_env):
    for version in ("1", "2", "3", "4"):
        registered = register_job_definitions(
            cloud_env, version=version, image=f"127.0.0.1:5000/workers:{version}", outputs=OUTPUTS
        )
    # One per declared application and tier (the built-in ones, and any a test declared).
    pipelines = {application.pipeline for application in applications().values()}
    assert {"survey-delivery", "survey-ena", "download", "process-no_op"} <= pipelines
    assert "process-fastq_qc" in pipelines
    assert len(registered) == len(pipelines) * 2
    name = job_definition_name(cloud_env.name, "download", 4096)
    assert _active(name) == [1, 2, 3, 4]

    planned = prune_job_definitions(cloud_env, keep=2)  # dry run by default
    assert {(p.name, p.revision) for p in planned if p.name == name} == {(name, 1), (name, 2)}
    assert not any(p.deregistered for p in planned)
    assert _active(name) == [1, 2, 3, 4]

    done = prune_job_definitions(cloud_env, keep=2, dry_run=False)
    assert len(done) == len(pipelines) * 2 * 2 and all(p.deregistered for p in done)
    assert _active(name) == [3, 4]
    latest = boto3.client("batch").describe_job_definitions(
        jobDefinitionName=name, status="ACTIVE"
    )["jobDefinitions"]
    assert {d["containerProperties"]["image"] for d in latest if d["revision"] == 4} == {
        "127.0.0.1:5000/workers:4"
    }


def test_invalid_template_stops_before_any_api_call(cloud_env, tmp_path, monkeypatch):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    broken = folder / "process-fastq_qc.json.j2"
    broken.write_text(broken.read_text().replace("14400", "30"))  # a timeout under a minute
    monkeypatch.setattr(
        registration_module,
        "render_job_definitions",
        lambda env, **kw: render_job_definitions(env, templates_dir=folder, **kw),
    )
    with pytest.raises(ValidationError, match="timeout"):
        register_job_definitions(cloud_env, version="9", image="r/workers:9", outputs=OUTPUTS)
    # download and the surveys render fine, but nothing at all was registered.
    for pipeline in ("download", "survey-delivery", "survey-ena"):
        assert _active(job_definition_name(cloud_env.name, pipeline, 1024)) == []


def _inv(*args):
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


@pytest.mark.slow
def test_batch_tasks_register_and_prune_with_dry_run_by_default(cloud_env):
    for version in ("7", "8"):
        result = _inv("batch.register", "-e", cloud_env.name, "-v", version)
        assert result.returncode == 0, result.stderr
    assert "127.0.0.1:5000/workers:8" in result.stdout
    dry = _inv("batch.prune", "-e", cloud_env.name, "--keep", "1")
    assert dry.returncode == 0, dry.stderr
    assert "would deregister" in dry.stdout and "pass --execute" in dry.stdout
    name = job_definition_name(cloud_env.name, "survey-delivery", 1024)
    assert _active(name) == [1, 2]
    done = _inv("batch.prune", "-e", cloud_env.name, "--keep", "1", "--execute", "--json")
    assert done.returncode == 0, done.stderr
    assert _active(name) == [2]
    bad = _inv("batch.prune", "-e", cloud_env.name, "--keep", "-1")
    assert bad.returncode != 0 and "--keep must be at least" in bad.stderr
