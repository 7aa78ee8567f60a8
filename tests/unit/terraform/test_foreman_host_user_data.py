"""The foreman host's cloud-init, rendered by the real Terraform (`templatefile` in
`terraform console`, no provider needed) and read back as YAML: it creates the service and
deploy users, runs the foreman image at the deployed release as the `refinery-foreman` unit
with its logs shipped to the platform's group, installs and enables a timer for every job the
environment file's `[schedule]` declares (rendered from that file, the one source), and lets
the deploy login run exactly the commands staging's and prod's `[foreman_host]` send.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib

import pytest
import yaml

from common.environments import ENVIRONMENTS_DIR_VARIABLE, REPO_ROOT, load_environment
from common.shell import run_command
from ops.tf.binary import terraform_path
from ops.tf.settings import stack_variables

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
    "schedules": {},  # each test renders the shipped environment's own
}


def _shipped_schedules(name: str) -> dict:
    import os

    previous = os.environ.pop(ENVIRONMENTS_DIR_VARIABLE, None)
    try:
        return stack_variables(load_environment(name))["schedules"]
    finally:
        if previous is not None:
            os.environ[ENVIRONMENTS_DIR_VARIABLE] = previous


def _render(directory, values: dict) -> dict:
    expression = f"templatefile({json.dumps(str(TEMPLATE))}, {_hcl(values)})"
    result = run_command(
        [terraform_path(), "console"],
        cwd=directory,
        input_text=expression + "\n",
        env={"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"},
    )
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "<<EOT" and lines[-1] == "EOT", result.stdout[:200]
    text = "\n".join(lines[1:-1])
    assert text.startswith("#cloud-config")
    return yaml.safe_load(text)


@pytest.fixture(scope="module", params=["staging", "prod"])
def rendered(request, tmp_path_factory) -> tuple[str, dict, dict]:
    schedules = _shipped_schedules(request.param)
    values = {**VALUES, "environment": request.param, "schedules": schedules}
    return request.param, schedules, _render(tmp_path_factory.mktemp("console"), values)


@pytest.fixture(scope="module")
def cloud_init(rendered) -> dict:
    return rendered[2]


def _hcl(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_hcl(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(item) for item in value) + "]"
    return json.dumps(value)


def _files(cloud_init: dict) -> dict[str, str]:
    return {entry["path"]: entry["content"] for entry in cloud_init["write_files"]}


def test_the_stack_passes_every_variable_the_template_uses():
    text = TEMPLATE.read_text()
    loop_names = set(re.findall(r"%\{ for (\w+), (\w+) in", text)[0])  # job, timer
    used = set(re.findall(r"(?<!\$)\$\{(?:jsonencode\()?([a-z_]+)", text)) - loop_names
    used |= set(re.findall(r"%\{ for \w+, \w+ in (\w+)", text))
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
        "ExecStart=/usr/local/bin/refinery-run refinery-foreman python -m foreman run -e " in unit
    )
    run = files["/usr/local/bin/refinery-run"]
    assert f"registry={VALUES['registry']}" in run
    assert '"$registry:$version"' in run and "REFINERY_VERSION" in run
    assert "--network host" in run and "--env-file /etc/refinery/foreman.env" in run
    assert f"--log-opt awslogs-group={VALUES['log_group']}" in run
    settings = dict(
        line.split("=", 1) for line in files["/etc/refinery/foreman.env"].splitlines() if line
    )
    assert settings["REFINERY_ENVIRONMENT"] in ("staging", "prod")
    assert settings["REFINERY_DATABASE_HOST"] == VALUES["database_host"]
    assert settings["REFINERY_DATABASE_PASSWORD_SECRET"] == VALUES["database_secret_arn"]
    assert settings["REFINERY_DATABASE_TUNNEL"] == "none"  # inside the network
    assert not any("PASSWORD=" in line for line in files["/etc/refinery/foreman.env"].split())


def test_every_timer_the_environment_declares_is_installed_and_enabled(rendered, monkeypatch):
    name, schedules, cloud_init = rendered
    files = _files(cloud_init)
    # The shipped file, not a test's environment of the same name in the session's folder.
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    declared = load_environment(name).section("schedule")
    # backup, seal and lake_check at least: nothing the alarms watch is left unscheduled
    assert {"backup", "seal", "lake-check"} <= set(schedules)
    assert len(schedules) == len(declared)
    for job, timer in schedules.items():
        service = files[f"/etc/systemd/system/refinery-{job}.service"]
        assert f"refinery-run refinery-{job} inv {timer['inv_arguments']}" in service
        assert (
            f"OnCalendar={declared[job.replace('-', '_')]}"
            in files[f"/etc/systemd/system/refinery-{job}.timer"]
        )
        assert f"systemctl enable --now refinery-{job}.timer" in cloud_init["runcmd"]
    assert schedules["backup"]["inv_arguments"] == f"db.scheduled-backup -e {name}"
    assert schedules["lake-check"]["inv_arguments"] == f"schedule.run -e {name} lake-check"
    timers = [path for path in files if path.endswith(".timer")]
    assert len(timers) == len(declared)  # and no timer the file does not declare


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
