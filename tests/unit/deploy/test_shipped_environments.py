"""staging.toml and prod.toml carry every section a deploy reads, and each one validates."""

from __future__ import annotations

import re
import tomllib

import hcl2
import pytest

from common.environments import (
    ENVIRONMENTS_DIR_VARIABLE,
    REPO_ROOT,
    STATE_DIR_VARIABLE,
    TERRAFORM_OUTPUTS_FILE,
    load_environment,
)
from common.foreman_host import proxy_command_for
from common.settings.deployment import DeploySection
from foreman.executors.batch import BatchExecutor
from ops.deploy.settings import DEPLOY_KEYS, lock_table
from ops.foreman_restart import foreman_host, restart_command_for
from ops.images.build import IMAGE_NAMES
from ops.images.settings import default_base_image, default_registry, worker_image_reference
from ops.tf.outputs import REQUIRED_OUTPUTS
from tests.support.environments import write_environment

SHIPPED = REPO_ROOT / "infrastructure" / "environments"
# Every key `inv deploy` (and the areas it calls) reads from these sections.
DEPLOY_READS = {
    "deploy": {"lease_seconds", "smoke_timeout_seconds"},  # lock_table: [terraform.backend]
    "foreman_host": {
        "hosts",
        "port",
        "user",
        "key_file",
        "known_hosts_file",
        "restart_command",
        "connect_timeout_seconds",
        "command_timeout_seconds",
        "way_in",
        "proxy_command",
    },
    "images": {"base_image"},  # registry: the stack's ecr_repository_urls output
    "batch": {"job_queues", "keep_revisions"},
}


@pytest.fixture(params=["staging", "prod"])
def shipped(request, monkeypatch):
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    return request.param


def test_every_section_key_the_deploy_reads_is_present(shipped):
    data = tomllib.loads((SHIPPED / f"{shipped}.toml").read_text())
    for section, keys in DEPLOY_READS.items():
        assert keys <= set(data.get(section, {})), (section, keys - set(data.get(section, {})))
    assert set(data["deploy"]) <= set(DEPLOY_KEYS)


def test_deploy_settings_use_the_terraform_lock_table(shipped):
    env = load_environment(shipped)
    settings = lock_table(env)
    backend = env.section("terraform")["backend"]
    assert (settings.lock_table, settings.region) == (backend["dynamodb_table"], "eu-west-1")
    assert settings.endpoint_url is None  # real AWS, no emulator
    assert DeploySection.for_environment(env).smoke_timeout_seconds >= 60


def test_foreman_host_validates_and_the_restart_names_the_release(shipped, tmp_path, monkeypatch):
    # The deploy key exists only on the deploying machine: validate with a stand-in key file.
    data = tomllib.loads((SHIPPED / f"{shipped}.toml").read_text())
    key = tmp_path / "key"
    key.touch(mode=0o600)
    data["foreman_host"]["key_file"] = str(key)
    data["foreman_host"]["known_hosts_file"] = str(tmp_path / "known_hosts")
    write_environment(tmp_path, shipped, data)
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "state"))
    env = load_environment(shipped)
    # The host is the stack's instance, as the last `inv tf.output` (or deploy) read it.
    (env.state_dir / TERRAFORM_OUTPUTS_FILE).write_text('{"foreman_instance_id": "i-0abc"}')
    hosts = foreman_host(env)
    assert hosts.hosts == (("i-0abc", 22),)
    command = restart_command_for(hosts, environment=shipped, version="v9.8.7")
    assert "REFINERY_VERSION=v9.8.7" in command and "{" not in command
    # ...reached through the EC2 Instance Connect Endpoint: IAM-authorised, no open SSH port.
    assert hosts.section.way_in == "instance_connect_endpoint"
    assert proxy_command_for(hosts, "i-0abc", 22) == (
        "aws ec2-instance-connect open-tunnel --region eu-west-1 --instance-id i-0abc "
        "--remote-port 22"
    )


def test_images_come_from_the_stacks_registry_on_the_configured_base(shipped):
    env = load_environment(shipped)
    assert default_base_image(env) == "refinery-os:bookworm"
    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery"
    outputs = {"ecr_repository_urls": {name: f"{ecr}/{name}" for name in IMAGE_NAMES}}
    assert default_registry(env, outputs) == ecr
    assert worker_image_reference(env, "v1.0.0", outputs) == f"{ecr}/workers:v1.0.0"


def test_batch_queues_are_the_stacks_queue_names(shipped):
    env = load_environment(shipped)
    executor = BatchExecutor(env, client=object())
    for pool in env.executor.queues:
        assert executor.job_queue_for(pool) == f"refinery-{shipped}-{pool.replace('_', '-')}"
    assert int(env.section("batch")["keep_revisions"]) >= 2  # a rollback needs the previous


def test_the_aws_stack_has_an_ecr_repository_for_every_image_the_deploy_pushes():
    with open(REPO_ROOT / "infrastructure/stacks/aws/variables.tf") as handle:
        variables = {
            name.strip('"'): body
            for block in hcl2.load(handle)["variable"]
            for name, body in block.items()
        }
    # python-hcl2 keeps the quotes of string literals; compare without them.
    repositories = {str(item).strip('"') for item in variables["ecr_repositories"]["default"]}
    assert set(IMAGE_NAMES) <= repositories


def test_job_definition_templates_read_only_outputs_every_stack_declares():
    used = {
        match
        for template in (REPO_ROOT / "infrastructure/batch").glob("*.json.j2")
        for match in re.findall(r"outputs\.([a-z_]+)", template.read_text())
    }
    assert used  # the templates do read outputs, so the check below means something
    assert used <= set(REQUIRED_OUTPUTS), used - set(REQUIRED_OUTPUTS)
