"""Job-definition templates: rendered per pipeline and tier, rejected when unsafe."""

from __future__ import annotations

import json
import shutil

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import ValidationError
from ops.batch import job_definition_name, pipelines, render_job_definitions
from ops.batch.definitions import TEMPLATES_DIR
from tests.support.environments import write_environment

OUTPUTS = {
    "batch_job_role_arn": "arn:aws:iam::123456789012:role/refinery-staging-job",
    "log_group_name": {"value": "/aws/batch/job", "type": "string", "sensitive": False},
}
IMAGE = "127.0.0.1:5000/workers:1.0"


@pytest.fixture
def staging(tmp_path, monkeypatch):
    folder = tmp_path / "environments"
    folder.mkdir()
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(folder))
    write_environment(
        folder,
        "staging",
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "lake"},
            "executor": {"kind": "batch", "memory_tiers_mb": [2048, 8192]},
        },
    )
    return load_environment("staging")


def test_every_pipeline_is_rendered_for_every_memory_tier(staging):
    rendered = render_job_definitions(staging, version="1.0", image=IMAGE, outputs=OUTPUTS)
    names = [item["jobDefinitionName"] for item in rendered]
    assert names == [
        job_definition_name(staging, pipeline, tier)
        for pipeline in pipelines()
        for tier in (2048, 8192)
    ]
    assert {"survey", "download", "fastq_qc"} <= set(pipelines())
    qc = next(item for item in rendered if item["jobDefinitionName"].endswith("fastq-qc-8192mb"))
    resources = {r["type"]: r["value"] for r in qc["containerProperties"]["resourceRequirements"]}
    assert resources == {"MEMORY": "8192", "VCPU": "4"}
    assert qc["containerProperties"]["image"] == IMAGE
    assert qc["containerProperties"]["jobRoleArn"] == OUTPUTS["batch_job_role_arn"]
    log_options = qc["containerProperties"]["logConfiguration"]["options"]
    assert log_options["awslogs-group"] == "/aws/batch/job"
    env_vars = {e["name"]: e["value"] for e in qc["containerProperties"]["environment"]}
    assert env_vars["REFINERY_ENVIRONMENT"] == "staging"
    assert env_vars["REFINERY_VERSION"] == "1.0"
    assert all(item["timeout"]["attemptDurationSeconds"] >= 60 for item in rendered)
    assert all(
        item["retryStrategy"]["evaluateOnExit"][0]
        == {"onStatusReason": "Host EC2*", "action": "RETRY"}
        for item in rendered
    )


def test_job_definition_names_follow_aws_pattern(staging):
    assert job_definition_name(staging, "fastq_qc", 4096) == "refinery-staging-fastq-qc-4096mb"


def test_missing_terraform_output_is_a_one_line_error(staging):
    with pytest.raises(ValidationError, match="batch_job_role_arn"):
        render_job_definitions(staging, version="1.0", image=IMAGE, outputs={})


def _broken_templates(tmp_path, replace: tuple[str, str]):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    base = folder / "_job_definition.json.j2"
    text = base.read_text()
    assert replace[0] in text
    base.write_text(text.replace(*replace))
    return folder


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (('"type": "container",', '"type": "container"'), "not valid JSON"),
        (
            ('{"onStatusReason": "Host EC2*", "action": "RETRY"},', ""),
            "Host EC2",
        ),
        (
            (
                '{"onStatusReason": "Host EC2*", "action": "RETRY"}',
                '{"onStatusReason": "Host EC2*", "action": "EXIT"}',
            ),
            "not RETRY",
        ),
        (('"attempts": 3', '"attempts": 1'), "attempts"),
        (('"value": "{{ memory_mb }}"', '"value": "1024"'), "MEMORY must be"),
        (
            (
                '"attemptDurationSeconds": {% block timeout_seconds %}3600{% endblock %}',
                '"attemptSeconds": 3600',
            ),
            "timeout",
        ),
    ],
)
def test_unsafe_templates_are_rejected(staging, tmp_path, replace, message):
    folder = _broken_templates(tmp_path, replace)
    with pytest.raises(ValidationError, match=message):
        render_job_definitions(
            staging, version="1.0", image=IMAGE, outputs=OUTPUTS, templates_dir=folder
        )


def test_catch_all_rule_before_spot_retry_is_rejected(staging, tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    base = folder / "_job_definition.json.j2"
    text = base.read_text()
    spot = '{"onStatusReason": "Host EC2*", "action": "RETRY"},'
    catch_all = '{"onReason": "*", "action": "EXIT"}'
    text = text.replace(spot, catch_all + ",").replace(catch_all + "\n", spot.rstrip(",") + "\n")
    base.write_text(text)
    with pytest.raises(ValidationError, match="catch-all"):
        render_job_definitions(
            staging, version="1.0", image=IMAGE, outputs=OUTPUTS, templates_dir=folder
        )


def test_rendered_definitions_are_plain_json(staging):
    rendered = render_job_definitions(staging, version="1.0", image=IMAGE, outputs=OUTPUTS)
    assert json.loads(json.dumps(rendered)) == rendered
