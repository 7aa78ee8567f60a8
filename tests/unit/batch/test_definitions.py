"""Job definitions: one per declared application and memory tier, carrying what a worker
container needs (never a password), rejected when unsafe."""

from __future__ import annotations

import json
import shutil

import pytest

from common.applications import applications
from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import ConfigError, JobError, ValidationError
from common.worker_identity import worker_command
from foreman.executors.base import Submission
from foreman.executors.batch import BatchExecutor
from ops.batch.definitions import (
    TEMPLATE_SUFFIX,
    TEMPLATES_DIR,
    job_definition_name,
    pipelines,
    render_job_definitions,
)
from ops.batch.registration import environment_definition_names
from tests.support.environments import write_environment

OUTPUTS = {
    "batch_job_role_arn": "arn:aws:iam::123456789012:role/refinery-staging-job",
    "log_group_name": {"value": "/aws/batch/job", "type": "string", "sensitive": False},
}
IMAGE = "127.0.0.1:5000/workers:1.0"
# The salmon pipelines run the salmon image of the same release (Debian's salmon added), RMA
# the affy image (Debian's R and affy added); everything else, the gene-level summary included
# (Python alone), the workers image.
SALMON_PIPELINES = {"index-salmon", "process-salmon"}
AFFY_PIPELINES = {"process-affy"}


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
        job_definition_name(staging.name, pipeline, tier)
        for pipeline in pipelines()
        for tier in (2048, 8192)
    ]
    # The workers' own handlers (a test may have registered handlers of its own).
    assert {name for name in pipelines() if not name.startswith("process-test_")} == {
        "survey-delivery",
        "survey-ena",
        "survey-geo",
        "survey-arrayexpress",
        "download",
        "process-no_op",
        "process-fastq_qc",
        "index-salmon",
        "process-salmon",
        "process-summarise",
        "dataset-matrices",
        "dataset-qn_target",
        "dataset-compendium",
        "process-affy",
        "process-geo_table",
    }
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
    # the dataset kind's template: one vCPU per 2 GiB, at most 4
    dataset = next(i for i in rendered if i["jobDefinitionName"].endswith("compendium-8192mb"))
    sizes = {r["type"]: r["value"] for r in dataset["containerProperties"]["resourceRequirements"]}
    assert sizes == {"MEMORY": "8192", "VCPU": "4"}
    assert all(
        item["retryStrategy"]["evaluateOnExit"][0]
        == {"onStatusReason": "Host EC2*", "action": "RETRY"}
        for item in rendered
    )


def test_job_definition_names_follow_aws_pattern(staging):
    assert (
        job_definition_name(staging.name, "process-fastq_qc", 4096)
        == "refinery-staging-process-fastq-qc-4096mb"
    )


def _payload(kind, handler):
    return {"survey": {"source": handler}, "process": {"application": handler}}.get(kind, {})


def test_every_registered_handler_and_tier_has_a_definition_the_executor_names(staging):
    """The executor's names, for every (kind, handler) × memory the foreman can ask for,
    are exactly the definitions `inv batch.register` registers — none missing, none extra."""
    rendered = {
        item["jobDefinitionName"]
        for item in render_job_definitions(staging, version="1.0", image=IMAGE, outputs=OUTPUTS)
    }
    assert rendered == set(environment_definition_names(staging))
    executor = BatchExecutor(staging)
    named = set()
    for kind, handler in applications():
        for memory in (1, 2048, 2049, 8192):
            submission = Submission(
                job_id=1,
                attempt=1,
                kind=kind,
                queue="spot",
                memory_mb=memory,
                environment="staging",
                command=worker_command(1),
                handler=handler,
            )
            named.add(
                job_definition_name(
                    staging.name,
                    executor.pipeline_for(submission),
                    executor.definition_memory_mb(memory),
                )
            )
    assert named == rendered
    assert len(named) == len(applications()) * 2
    stray = Submission(1, 1, "survey", "spot", 2048, "staging", worker_command(1), handler="ftp")
    with pytest.raises(JobError, match="no survey application named 'ftp'"):
        executor.pipeline_for(stray)


def test_every_template_serves_a_declared_pipeline_or_kind():
    """No template is left over from a renamed or removed application."""
    used = {name for a in applications().values() for name in (a.kind, a.pipeline)}
    unused = [
        path.name
        for path in TEMPLATES_DIR.glob(f"*{TEMPLATE_SUFFIX}")
        if not path.name.startswith("_") and path.name.removesuffix(TEMPLATE_SUFFIX) not in used
    ]
    assert unused == []


def test_a_handler_without_any_template_is_a_clear_error(staging, tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    (folder / "process.json.j2").unlink()
    with pytest.raises(
        ConfigError, match="no job-definition template for pipeline process-geo_table"
    ):
        render_job_definitions(
            staging, version="1.0", image=IMAGE, outputs=OUTPUTS, templates_dir=folder
        )


@pytest.fixture
def deployed(tmp_path, monkeypatch):
    """A staging-shaped environment whose database host and password come from the stack."""
    folder = tmp_path / "environments"
    folder.mkdir()
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(folder))
    monkeypatch.setenv("REFINERY_DB_PASSWORD", "pw-on-the-deploying-machine")
    write_environment(
        folder,
        "staging",
        {
            "database": {
                "kind": "dsn",
                "host": "terraform:database_endpoint",
                "name": "refinery",
                "user": "refinery",
                "password_secret": "terraform:database_master_secret_arn",
            },
            "lake": {"backend": "s3", "bucket": "refinery-staging-lake"},
            "executor": {"kind": "batch", "memory_tiers_mb": [2048]},
            "batch": {"job_environment": {"REFINERY_LOG_LEVEL": "DEBUG"}},
        },
    )
    return load_environment("staging")


STACK = {
    **OUTPUTS,
    "database_endpoint": "refinery-staging-db.abc.eu-west-1.rds.amazonaws.com",
    "database_master_secret_arn": "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1",
    "lake_bucket": "refinery-staging-lake",
}


def test_definitions_carry_the_stack_settings_and_never_a_password(deployed):
    rendered = render_job_definitions(deployed, version="1.0", image=IMAGE, outputs=STACK)
    for definition in rendered:
        variables = {
            e["name"]: e["value"] for e in definition["containerProperties"]["environment"]
        }
        assert variables["REFINERY_ENVIRONMENT"] == "staging"
        assert variables["REFINERY_DATABASE_HOST"] == STACK["database_endpoint"]
        assert variables["REFINERY_DATABASE_PORT"] == "5432"
        assert variables["REFINERY_DATABASE_PASSWORD_SECRET"] == STACK["database_master_secret_arn"]
        assert variables["REFINERY_LAKE_BUCKET"] == "refinery-staging-lake"
        assert variables["REFINERY_LOG_GROUP"] == "/aws/batch/job"
        assert variables["REFINERY_LOG_LEVEL"] == "DEBUG"
        assert "pw-on-the-deploying-machine" not in json.dumps(definition)
        assert not any("PASSWORD" in name and "SECRET" not in name for name in variables)


def test_a_lake_bucket_the_stack_did_not_create_is_refused(deployed):
    with pytest.raises(ValidationError, match="the stack's lake bucket is 'other-lake'"):
        render_job_definitions(
            deployed, version="1.0", image=IMAGE, outputs={**STACK, "lake_bucket": "other-lake"}
        )


@pytest.mark.parametrize(
    "name", ["AWS_SECRET_ACCESS_KEY", "REFINERY_DB_PASSWORD", "REFINERY_DATABASE_HOST"]
)
def test_job_environment_refuses_secrets_and_settings_it_does_not_own(tmp_path, monkeypatch, name):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    write_environment(
        tmp_path,
        "staging",
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "lake"},
            "executor": {"kind": "batch"},
            "batch": {"job_environment": {name: "x"}},
        },
    )
    with pytest.raises(ConfigError, match=f"may not set {name}"):
        render_job_definitions(
            load_environment("staging"), version="1.0", image=IMAGE, outputs=OUTPUTS
        )


def test_missing_terraform_output_is_a_one_line_error(staging):
    with pytest.raises(ValidationError, match="batch_job_role_arn"):
        render_job_definitions(
            staging, version="1.0", image=IMAGE, outputs={"log_group_name": "/g"}
        )
    with pytest.raises(ValidationError, match="log_group_name"):
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


def test_an_outside_application_gets_definitions_in_the_image_it_declares(
    staging, tmp_path, monkeypatch
):
    package = tmp_path / "site" / "rtools"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('job code imported')\n")
    (package / "applications.toml").write_text(
        '[[application]]\nkind = "process"\nname = "r_norm"\nversion = "0.4.0"\n'
        'image = "workers-r"\n'
    )
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.setenv("REFINERY_HANDLER_MODULES", "rtools")
    rendered = render_job_definitions(staging, version="1.0", image=IMAGE, outputs=OUTPUTS)
    images = {item["jobDefinitionName"]: item["containerProperties"]["image"] for item in rendered}
    assert images[job_definition_name(staging.name, "process-r_norm", 8192)] == (
        "127.0.0.1:5000/workers-r:1.0"
    )
    assert images[job_definition_name(staging.name, "process-fastq_qc", 8192)] == IMAGE


def test_each_pipeline_names_its_image_of_the_release(staging):
    rendered = render_job_definitions(staging, version="1.0", image=IMAGE, outputs=OUTPUTS)
    images = {
        item["tags"]["refinery:pipeline"]: item["containerProperties"]["image"] for item in rendered
    }
    assert set(images) >= SALMON_PIPELINES | AFFY_PIPELINES and "process-summarise" in images
    for pipeline, image in images.items():
        wanted = (
            "127.0.0.1:5000/salmon:1.0" if pipeline in SALMON_PIPELINES
            else "127.0.0.1:5000/affy:1.0" if pipeline in AFFY_PIPELINES
            else IMAGE
        )  # fmt: skip
        assert image == wanted, pipeline


def test_a_template_naming_an_image_no_release_has_is_refused(staging, tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    template = folder / "process-salmon.json.j2"
    template.write_text(template.read_text().replace("images.salmon", "images.aligner"))
    with pytest.raises(ValidationError, match="aligner"):
        render_job_definitions(
            staging, version="1.0", image=IMAGE, outputs=OUTPUTS, templates_dir=folder
        )


def test_rma_runs_on_one_core_in_every_memory_tier(staging):
    rendered = render_job_definitions(staging, version="1.0", image=IMAGE, outputs=OUTPUTS)
    affy = [item for item in rendered if "affy" in item["jobDefinitionName"]]
    memory = set()
    for item in affy:
        requirements = item["containerProperties"]["resourceRequirements"]
        resources = {r["type"]: r["value"] for r in requirements}
        assert resources["VCPU"] == "1" and item["timeout"]["attemptDurationSeconds"] == 14400
        memory.add(resources["MEMORY"])
    assert memory == {"2048", "8192"}  # a tier each: killed for memory, retried a tier up
