"""Sections that say how a deployment is made and reached: `[deploy]`, `[terraform]` (and its
`[terraform.backend]`) and `[foreman_host]` — checked at load like every section, and
imported only for an environment whose file has them (`local` has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

from common.inputs import is_digits
from common.settings.base import (
    Field,
    Flag,
    Section,
    SettingProblem,
    Text,
    field_validator,
    model_validator,
    section,
)
from common.settings.core import NonEmpty, Port
from common.settings.operations import Seconds

# Keys older environment files carried in [deploy]; the images area owns them now.
MOVED_FROM_DEPLOY = {
    "registry": "[images] registry",
    "base_image": "[images] base_image",
    "worker_image": "nothing (the image is always workers)",
}


@section("deploy")
@dataclass(frozen=True)
class DeploySection(Section):
    """How `inv deploy` runs. The lock table and region fall back to the Terraform backend's
    (`[terraform.backend] dynamodb_table`, `region`), then `[aws] region`."""

    lock_table: NonEmpty | None = Field(default=None, description="DynamoDB table of deploy locks")
    region: NonEmpty | None = Field(default=None, description="region of the lock table")
    lease_seconds: Seconds = Field(default=900, description="an unrenewed lock expires after this")
    smoke_timeout_seconds: Seconds = Field(default=120, description="time for the foreman to beat")
    require_rehearsal: Flag = Field(
        default=False, description="refuse a deploy without a green staging rehearsal of its commit"
    )
    rehearsal_environment: NonEmpty = Field(
        default="staging", description="where that rehearsal (inv staging.refresh) runs"
    )

    @model_validator(mode="before")
    @classmethod
    def _moved_keys_point_to_their_new_home(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key, where in MOVED_FROM_DEPLOY.items():
                if key in values:
                    raise SettingProblem(key, f"is no longer read; move it to {where}")
        return values


# Credentials are not settable: they come from the process environment, never argv or files.
_BACKEND_CREDENTIALS = ("access_key", "secret_key", "token", "profile", "shared_credentials_file")


@dataclass(frozen=True)
class TerraformBackend:
    """The keys of Terraform 1.0's s3 backend that an environment may set."""

    bucket: NonEmpty = Field(description="S3 bucket of the state")
    key: NonEmpty = Field(description="state object key")
    region: NonEmpty = Field(description="region of the bucket and table")
    dynamodb_table: NonEmpty = Field(description="DynamoDB table of state locks")
    encrypt: Flag | None = None
    kms_key_id: Text | None = None
    endpoint: Text | None = None
    dynamodb_endpoint: Text | None = None
    sts_endpoint: Text | None = None
    iam_endpoint: Text | None = None
    force_path_style: Flag | None = None
    skip_credentials_validation: Flag | None = None
    skip_metadata_api_check: Flag | None = None
    skip_region_validation: Flag | None = None
    role_arn: Text | None = None
    workspace_key_prefix: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key in _BACKEND_CREDENTIALS:
                if key in values:
                    raise SettingProblem(
                        key, "is not allowed: credentials come from the process environment"
                    )
        return values


@section("terraform")
@dataclass(frozen=True)
class TerraformSection(Section):
    """The stack an environment deploys, its variables, its remote state and which resources
    are protected against destroy/replace. Relative paths are from the repository root."""

    stack: NonEmpty = Field(description="folder of the Terraform stack")
    backend: TerraformBackend = Field(description="remote state: bucket, key, region, table")
    var_file: NonEmpty | None = Field(default=None, description=".tfvars file")
    protected: list[NonEmpty] = Field(default_factory=list, description="address patterns")
    variables: dict[NonEmpty, Any] = Field(
        default_factory=dict, description="extra non-secret -var values"
    )
    plugin_dir: NonEmpty | None = Field(
        default=None, description='"bundled": providers from the wheel'
    )


@section("foreman_host")
@dataclass(frozen=True)
class ForemanHostSection(Section):
    """How to reach the foreman's hosts over SSH and restart it there."""

    hosts: list[NonEmpty] = Field(min_length=1, description="host or host:port")
    key_file: NonEmpty = Field(description="0600 private key file (relative: state folder)")
    restart_command: NonEmpty = Field(description="{version} and {environment} are filled in")
    user: NonEmpty | None = Field(default=None, description="SSH user (default: login name)")
    stop_command: Text = Field(default="", description="stops the foreman (a restore)")
    start_command: Text = Field(default="", description="starts it again after")
    port: Port = Field(default=22, description="port of hosts given without one")
    known_hosts_file: NonEmpty | None = Field(default=None, description="verify host keys strictly")
    connect_timeout_seconds: Seconds = Field(default=10, description="SSH connect timeout")
    command_timeout_seconds: Seconds = Field(default=120, description="restart command timeout")
    way_in: Literal["direct", "instance_connect_endpoint"] = Field(
        default="direct", description="how SSH reaches the hosts (the stack creates the way)"
    )
    proxy_command: Text = Field(
        default="", description="ssh ProxyCommand: {host} {port} {region} {python} {repo}"
    )

    @field_validator("hosts")
    @classmethod
    def _hosts_are_host_or_host_port(cls, hosts: list[str]) -> list[str]:
        for index, entry in enumerate(hosts):
            if entry.startswith("terraform:"):  # a stack output, resolved when used
                continue
            host, sep, port = entry.rpartition(":")
            if sep and not host:
                raise SettingProblem(index, f"{entry!r} has no host name")
            if sep and not (port.isascii() and is_digits(port) and 0 < int(port) < 65536):
                raise SettingProblem(index, f"{entry!r} has no port in 1-65535")
        return hosts

    @model_validator(mode="after")
    def _a_tunnelled_way_in_has_its_command(self) -> Self:
        if self.way_in == "instance_connect_endpoint" and not self.proxy_command:
            raise SettingProblem("proxy_command", "is required when way_in is a tunnel")
        if self.way_in == "direct" and self.proxy_command:
            raise SettingProblem("proxy_command", 'needs way_in = "instance_connect_endpoint"')
        return self
