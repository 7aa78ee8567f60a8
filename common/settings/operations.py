"""Sections read by `inv` areas: `[backups]`, `[deploy]`, `[terraform]` (and its
`[terraform.backend]`), `[foreman_host]`, `[schedule]`, `[images]` and `[outputs]`.

What only a machine can tell — a stack folder with a `main.tf`, a key file that is 0600 — is
checked by the area when it uses the section; everything a file can get wrong is checked here,
at load.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic.dataclasses import dataclass

from common.inputs import is_digits
from common.settings.base import (
    SCHEMA_CONFIG,
    Flag,
    Integer,
    Number,
    Section,
    SettingProblem,
    Text,
    register_table,
    section,
)
from common.settings.core import NonEmpty, Port

Count = Annotated[Integer, Field(ge=0)]
Seconds = Annotated[Number, Field(gt=0)]


@section("backups")
@dataclass(frozen=True, config=SCHEMA_CONFIG)
class BackupsSection(Section):
    """Where an environment's backups live, locally and off-site, and how many to keep:
    the last N plus one per day, week and month."""

    keep_last: Count = Field(default=3, description="newest backups kept")
    keep_daily: Count = Field(default=7, description="days with one backup kept")
    keep_weekly: Count = Field(default=4, description="weeks with one backup kept")
    keep_monthly: Count = Field(default=3, description="months with one backup kept")
    dir: Text = Field(default="", description="backup folder (relative: in the state folder)")
    offsite_bucket: Text = Field(default="", description="S3 bucket backups are shipped to")
    offsite_prefix: Text = Field(default="", description="key prefix there (default backups/<env>)")
    rds_instance: Text = Field(default="", description="RDS instance to snapshot")


# Keys older environment files carried in [deploy]; the images area owns them now.
MOVED_FROM_DEPLOY = {
    "registry": "[images] registry",
    "base_image": "[images] base_image",
    "worker_image": "nothing (the image is always workers)",
}


@section("deploy")
@dataclass(frozen=True, config=SCHEMA_CONFIG)
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


@dataclass(frozen=True, config=SCHEMA_CONFIG)
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
@dataclass(frozen=True, config=SCHEMA_CONFIG)
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
@dataclass(frozen=True, config=SCHEMA_CONFIG)
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


@section("schedule")
@dataclass(frozen=True, config=SCHEMA_CONFIG)
class ScheduleSection(Section):
    """When the timers run, as systemd OnCalendar expressions; an absent job is not run."""

    backup: NonEmpty | None = Field(
        default=None, description="take, verify, prune and ship a backup"
    )
    seal: NonEmpty | None = Field(default=None, description="seal finished analyses")
    metadata_sync: NonEmpty | None = Field(
        default=None, description="pull and apply the REDCap metadata ([metadata])"
    )
    lake_check: NonEmpty | None = Field(
        default=None, description="compare the catalog with the lake, checksums included"
    )

    def expressions(self) -> dict[str, str]:
        """{job: OnCalendar expression} for the jobs that are scheduled (jobs are named with
        dashes, as `inv schedule.run` takes them)."""
        values = {
            "backup": self.backup,
            "seal": self.seal,
            "metadata-sync": self.metadata_sync,
            "lake-check": self.lake_check,
        }
        return {job: value for job, value in values.items() if value}


@section("images")
@dataclass(frozen=True, config=SCHEMA_CONFIG)
class ImagesSection(Section):
    """Where images are pushed (default: the stack's registry) and the OS they are built on."""

    registry: Text = Field(default="", description="registry images are pushed to")
    base_image: NonEmpty = Field(default="refinery-os:bookworm", description="OS image of the base")


# Deployment values for an environment without Terraform (or a test): output name -> value,
# any shape Terraform outputs have.
register_table("outputs", dict[str, Any])


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingProblem("timezone", f"{value!r} is not a known time zone") from None
    return value


@section("metadata")
@dataclass(frozen=True, config=SCHEMA_CONFIG)
class MetadataSection(Section):
    """Where `inv metadata.sync` reads specimen metadata: a REDCap project's API. The API
    token comes from the variable `token_env` or the 0600 file `token_file`, never from here."""

    project: Text = Field(default="", description="the catalog project the records describe")
    redcap_url: Text = Field(default="", description="the REDCap API URL (http(s), ending /api/)")
    token_env: NonEmpty = Field(default="REFINERY_REDCAP_TOKEN", description="token variable")
    token_file: Text = Field(default="", description="0600 file holding the token")
    timezone: Text = Field(default="UTC", description="the zone REDCap writes its times in")
    batch_size: Annotated[Integer, Field(ge=1)] = Field(default=200, description="records/call")
    overlap_minutes: Count = Field(default=60, description="re-read before the last watermark")
    request_deadline_seconds: Seconds = Field(
        default=300, description="longest one API request may take, its whole answer included"
    )
    max_value_length: Annotated[Integer, Field(ge=1)] = Field(
        default=10_000, description="longest value a record may hold; longer is quarantined"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_time_zone(value)

    @field_validator("redcap_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if value and not (value.startswith(("https://", "http://")) and value.endswith("/api/")):
            raise ValueError("must be an http(s) URL ending /api/")
        return value


@section("refresh")
@dataclass(frozen=True, config=SCHEMA_CONFIG)
class RefreshSection(Section):
    """How `inv staging.refresh` rebuilds this environment's database from production's:
    the anonymisation rules, and how fresh a reused production backup must be."""

    rules: NonEmpty = Field(
        default="infrastructure/anonymise.toml", description="personal columns and their methods"
    )
    reuse_backup_hours: Seconds = Field(default=24, description="reuse a verified backup this new")
    smoke_timeout_seconds: Seconds = Field(default=600, description="time for the smoke job")
    keep_old: Flag = Field(default=False, description="keep the previous database after the swap")
