"""The foreman host's cloud-init, rendered by the real Terraform (`templatefile` in
`terraform console`, no provider needed) and read back as YAML: it creates the service and
deploy users, runs the foreman image at the deployed release as the `refinery-foreman` unit
with its logs shipped to the platform's group, installs the backup and sealing timers, and
lets the deploy login run exactly the commands staging's and prod's `[foreman_host]` send.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib

import pytest
import yaml

from common.environments import REPO_ROOT
from common.shell import run_command
from ops.tf.binary import terraform_path

AWS_STACK = REPO_ROOT / "infrastructure/stacks/aws"
TEMPLATE = AWS_STACK / "templates/foreman_host.cloud-init.yaml.tftpl"
VALUES = {
    "environment": "staging",
    "region": "eu-west-1",
    "registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/refinery/foreman",
    "log_group": "/refinery/staging",
    "database_host": "refinery-staging-db.abc.eu-west-1.rds.amazonaws.com",
    "database_port": 5432,
    "database_name": "refinery",
    "database_user": "refinery",
    "database_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-x",
    "lake_bucket": "refinery-staging-lake",
    "deploy_public_keys": ["ssh-ed25519 AAAAC3Nza operator@laptop"],
    "backup_schedule": "*-*-* 02:00:00",
    "seal_schedule": "*:0/15",
}


@pytest.fixture(scope="module")
def cloud_init(tmp_path_factory) -> dict:
    expression = f"templatefile({json.dumps(str(TEMPLATE))}, {_hcl(VALUES)})"
    result = run_command(
        [terraform_path(), "console"],
        cwd=tmp_path_factory.mktemp("console"),
        input_text=expression + "\n",
        env={"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"},
    )
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "<<EOT" and lines[-1] == "EOT", result.stdout[:200]
    text = "\n".join(lines[1:-1])
    assert text.startswith("#cloud-config")
    return yaml.safe_load(text)


def _hcl(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_hcl(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(item) for item in value) + "]"
    return json.dumps(value)


def _files(cloud_init: dict) -> dict[str, str]:
    return {entry["path"]: entry["content"] for entry in cloud_init["write_files"]}


def test_the_stack_passes_every_variable_the_template_uses():
    used = set(re.findall(r"(?<!\$)\$\{(?:jsonencode\()?([a-z_]+)", TEMPLATE.read_text()))
    call = (AWS_STACK / "main.tf").read_text().split("foreman_host.cloud-init.yaml.tftpl", 1)[1]
    passed = set(re.findall(r"^\s+([a-z_]+)\s+=", call.split("})", 1)[0], re.MULTILINE))
    assert used == passed == set(VALUES)


def test_users_service_and_deploy_login(cloud_init):
    users = {user["name"]: user for user in cloud_init["users"]}
    assert str(users["refinery"]["uid"]) == "10001"  # the images' user owns the state
    assert users["refinery-deploy"]["ssh_authorized_keys"] == VALUES["deploy_public_keys"]
    assert "docker" in cloud_init["packages"]


def test_the_unit_runs_the_foreman_image_at_the_deployed_release_with_logs_shipped(cloud_init):
    files = _files(cloud_init)
    unit = files["/etc/systemd/system/refinery-foreman.service"]
    assert (
        "ExecStart=/usr/local/bin/refinery-run refinery-foreman python -m foreman run -e staging"
        in unit
    )
    run = files["/usr/local/bin/refinery-run"]
    assert f"registry={VALUES['registry']}" in run
    assert '"$registry:$version"' in run and "REFINERY_VERSION" in run
    assert "--network host" in run and "--env-file /etc/refinery/foreman.env" in run
    assert f"--log-opt awslogs-group={VALUES['log_group']}" in run
    settings = dict(
        line.split("=", 1) for line in files["/etc/refinery/foreman.env"].splitlines() if line
    )
    assert settings["REFINERY_ENVIRONMENT"] == "staging"
    assert settings["REFINERY_DATABASE_HOST"] == VALUES["database_host"]
    assert settings["REFINERY_DATABASE_PASSWORD_SECRET"] == VALUES["database_secret_arn"]
    assert settings["REFINERY_DATABASE_TUNNEL"] == "none"  # inside the network
    assert not any("PASSWORD=" in line for line in files["/etc/refinery/foreman.env"].split())


def test_backup_and_sealing_timers_run_from_the_same_image(cloud_init):
    files = _files(cloud_init)
    backup = files["/etc/systemd/system/refinery-backup.service"]
    assert "refinery-run refinery-backup inv db.scheduled-backup -e staging" in backup
    seal = files["/etc/systemd/system/refinery-seal.service"]
    assert "refinery-run refinery-seal inv schedule.run -e staging seal" in seal
    assert (
        f"OnCalendar={VALUES['backup_schedule']}"
        in files["/etc/systemd/system/refinery-backup.timer"]
    )
    assert (
        f"OnCalendar={VALUES['seal_schedule']}" in files["/etc/systemd/system/refinery-seal.timer"]
    )
    assert any("refinery-backup.timer" in command for command in cloud_init["runcmd"])


@pytest.mark.parametrize("shipped", ["staging", "prod"])
def test_sudo_allows_exactly_what_the_environments_send(cloud_init, shipped):
    allowed = _files(cloud_init)["/etc/sudoers.d/refinery-deploy"].split("NOPASSWD:", 1)[1]
    patterns = [item.strip() for item in allowed.split(",")]
    section = tomllib.loads((REPO_ROOT / f"infrastructure/environments/{shipped}.toml").read_text())
    host = section["foreman_host"]
    restart = host["restart_command"].replace("{version}", "v1.2.3")
    commands = " && ".join([restart, host["stop_command"], host["start_command"]])
    for command in commands.split(" && "):
        words = shlex.split(command)
        assert words[0] == "sudo", command
        run = " ".join(["/usr/bin/" + words[1], *words[2:]])
        assert any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), run) for p in patterns), run
