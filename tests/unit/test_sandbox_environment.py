"""The sandbox is staging's shape: its file differs from staging.toml only where it must, it
takes staging's versions, and its stack's outputs name the sandbox's own services."""

from __future__ import annotations

import tomllib
from urllib.parse import urlparse

import hcl2
import pytest

from common.environments import REPO_ROOT
from ops.deploy.errors import VersionRuleError
from ops.release.versions import check_version_for_environment

ENVIRONMENTS = REPO_ROOT / "infrastructure/environments"
# What a sandbox must change: where things are (endpoints, ports, names of its own
# resources), the stack, the keys it generates, and sizes fit for one machine.
MAY_DIFFER = {
    "database": {"port", "sslmode"},
    "lake": {"bucket"},
    "executor": {"queues", "memory_tiers_mb"},
    "routing": {"memory_queues"},
    "logs": {"group"},
    "aws": {"region", "endpoint_url", "credentials_file"},
    "terraform": {"stack", "var_file", "plugin_dir", "protected"},
    "terraform.backend": {
        "key", "region", "encrypt",
        # the emulator cannot answer AWS's credential, metadata and region checks
        "skip_credentials_validation", "skip_metadata_api_check", "skip_region_validation",
    },
    "deploy": {"lease_seconds", "smoke_timeout_seconds"},
    "foreman_host": {
        "hosts", "port", "user", "key_file", "known_hosts_file", "restart_command",
        "stop_command", "start_command", "command_timeout_seconds",
        # the same way in, its endpoint played by a stand-in (ops/sandbox/open_tunnel.py)
        "proxy_command",
    },
    "batch": {"job_queues", "keep_revisions", "job_environment"},
    "backups": {"keep_last", "keep_daily", "keep_weekly", "keep_monthly"},
}  # fmt: skip


def _flatten(data: dict, prefix: str = "") -> dict[tuple[str, str], object]:
    flat: dict[tuple[str, str], object] = {}
    for section, values in data.items():
        for key, value in values.items():
            if isinstance(value, dict) and section == "terraform" and key == "backend":
                for inner, item in value.items():
                    flat[("terraform.backend", inner)] = item
            else:
                flat[(prefix + section, key)] = value
    return flat


def _load(name: str) -> dict:
    return tomllib.loads((ENVIRONMENTS / f"{name}.toml").read_text())


def test_sandbox_differs_from_staging_only_where_it_must():
    staging, sandbox = _flatten(_load("staging")), _flatten(_load("sandbox"))
    differing = {
        key for key in staging.keys() | sandbox.keys() if staging.get(key) != sandbox.get(key)
    }
    unexpected = sorted(key for key in differing if key[1] not in MAY_DIFFER.get(key[0], ()))
    # [foreman] timings are the sandbox's own (staging keeps the defaults).
    unexpected = [key for key in unexpected if key[0] != "foreman"]
    assert unexpected == []
    lacking = [key for key in set(staging) - set(sandbox) if key in unexpected]
    assert lacking == [], "a staging setting the sandbox lacks"


def test_every_sandbox_address_is_loopback_and_below_the_ephemeral_range():
    sandbox = _load("sandbox")
    raw = hcl2.load((ENVIRONMENTS / "sandbox.tfvars").open())
    tfvars = {
        key: value.strip('"') if isinstance(value, str) else value for key, value in raw.items()
    }
    endpoint = urlparse(sandbox["aws"]["endpoint_url"])
    host, _, ssh_port = sandbox["foreman_host"]["hosts"][0].rpartition(":")
    registry_host, _, registry_port = tfvars["registry"].rpartition(":")
    assert {endpoint.hostname, host, registry_host, tfvars["database_address"]} == {"127.0.0.1"}
    ports = [endpoint.port, int(ssh_port), int(registry_port), sandbox["database"]["port"]]
    assert tfvars["database_port"] == sandbox["database"]["port"]
    assert all(1024 < port < 32768 for port in ports), ports
    assert len(set(ports)) == len(ports)


@pytest.mark.parametrize("version", ["v0.1.0-dev", "v12.3.4-dev"])
def test_the_sandbox_takes_stagings_versions(version):
    check_version_for_environment(version, "sandbox")


def test_the_sandbox_refuses_a_production_release():
    with pytest.raises(VersionRuleError, match="deploys only to prod"):
        check_version_for_environment("v1.0.0", "sandbox")
