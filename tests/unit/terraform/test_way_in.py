"""Every environment's way in exists in its stack: an environment whose `[foreman_host]`
names a tunnelled way in gets it from the stack it deploys (the AWS stack's EC2 Instance
Connect Endpoint, with the security-group rule, the IAM permission and the instance output
the operator connects to; the sandbox stack's stand-in), and no environment names a host its
stack does not output or a private DNS name a laptop or a runner cannot resolve."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import hcl2
import pytest

from common.environments import REPO_ROOT

ENVIRONMENTS = sorted((REPO_ROOT / "infrastructure/environments").glob("*.toml"))
NETWORK = REPO_ROOT / "infrastructure/modules/network"


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def _stack_blocks(stack: Path, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in stack.glob("*.tf"):
        for block in _load(path).get(kind, []):
            found.update({name.strip('"'): body for name, body in block.items()})
    return found


def _resources(directory: Path) -> dict[tuple[str, str], Any]:
    found = {}
    for path in directory.glob("*.tf"):
        for block in _load(path).get("resource", []):
            for kind, bodies in block.items():
                for name, body in bodies.items():
                    found[(kind.strip('"'), name.strip('"'))] = body
    return found


def _with_way_in() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in ENVIRONMENTS:
        data = tomllib.loads(path.read_text())
        if "foreman_host" in data and "terraform" in data:
            found.append((path.stem, data))
    return found


def test_staging_prod_and_the_sandbox_all_go_through_a_tunnelled_way_in():
    names = {name: data["foreman_host"].get("way_in") for name, data in _with_way_in()}
    assert names == dict.fromkeys(("prod", "sandbox", "staging"), "instance_connect_endpoint")


@pytest.mark.parametrize("name,data", _with_way_in(), ids=lambda value: str(value)[:12])
def test_the_hosts_an_environment_names_are_outputs_of_its_stack(name, data):
    stack = REPO_ROOT / data["terraform"]["stack"]
    outputs = _stack_blocks(stack, "output")
    assert "instance_connect_endpoint_id" in outputs, f"{name}: its stack creates no way in"
    for host in data["foreman_host"]["hosts"]:
        assert not host.endswith(".internal"), f"{name}: {host} resolves only inside the VPC"
        if host.startswith("terraform:"):
            assert host.removeprefix("terraform:") in outputs, (name, host)


def test_the_aws_stack_creates_the_endpoint_its_rule_and_its_permission():
    stack = REPO_ROOT / "infrastructure/stacks/aws"
    network_call = _stack_blocks(stack, "module")["network"]
    assert network_call["enable_instance_connect_endpoint"] is True
    resources = _resources(NETWORK)
    endpoint = resources[("aws_ec2_instance_connect_endpoint", "this")]
    assert endpoint["security_group_ids"] == ["${aws_security_group.instance_connect[0].id}"]
    assert "${aws_subnet.private[0].id}" in str(endpoint["subnet_id"])  # inside, not public
    # The foreman accepts SSH from the endpoint's group only (plus explicit CIDRs if set).
    foreman = resources[("aws_security_group", "foreman")]
    ingress = [block['"ingress"']["content"][0] for block in foreman["dynamic"]
               if '"ingress"' in block]  # fmt: skip
    from_endpoint = [rule for rule in ingress if "security_groups" in rule]
    assert from_endpoint and from_endpoint[0]["from_port"] == 22
    assert "instance_connect" in str(from_endpoint[0]["security_groups"])
    egress = resources[("aws_vpc_security_group_egress_rule", "instance_connect_ssh")]
    assert (egress["from_port"], egress["to_port"]) == (22, 22)
    # Operators (and the deploy) are granted OpenTunnel on this endpoint, port 22.
    iam = (REPO_ROOT / "infrastructure/modules/iam/main.tf").read_text()
    assert '"ec2-instance-connect:OpenTunnel"' in iam
    assert 'variable = "ec2-instance-connect:remotePort"' in iam
    stack_text = (stack / "main.tf").read_text()
    assert "instance_connect_endpoint_arn = module.network.instance_connect_endpoint_arn" in (
        stack_text
    )
    outputs = _stack_blocks(stack, "output")
    assert outputs["foreman_instance_id"]["value"] == "${module.foreman.instance_id}"
    assert outputs["way_in_policy_arn"]["value"] == "${module.iam.way_in_policy_arn}"


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_aws_environments_tunnel_with_the_aws_cli(name):
    host = tomllib.loads((REPO_ROOT / f"infrastructure/environments/{name}.toml").read_text())[
        "foreman_host"
    ]
    assert host["hosts"] == ["terraform:foreman_instance_id"]
    assert host["proxy_command"].split()[:3] == ["aws", "ec2-instance-connect", "open-tunnel"]
    assert "--instance-id {host}" in host["proxy_command"]
    assert "--remote-port {port}" in host["proxy_command"]


def test_the_sandbox_rehearses_the_same_shape_with_its_stand_in():
    data = tomllib.loads((REPO_ROOT / "infrastructure/environments/sandbox.toml").read_text())
    assert "ops/sandbox/open_tunnel.py" in data["foreman_host"]["proxy_command"]
    modules = _stack_blocks(REPO_ROOT / "infrastructure/stacks/sandbox", "module")
    assert "instance_connect_endpoint" in modules
