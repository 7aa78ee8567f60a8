"""Environment files: one TOML file per environment under `infrastructure/environments/`.

An environment says where the database, the data lake, the executor and the logs of one
deployment live, and carries the sections each area reads. Every section is declared once in
`common.settings` and the whole file is validated when loaded, so a typo or a wrong value is a
one-line error naming the file, the section and the key — not a traceback deep inside a deploy
or a foreman that fails every two seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError
from common.inputs import is_digits

if TYPE_CHECKING:
    from common.settings.core import (  # noqa: F401 - the core sections' public names
        AwsSettings,
        DatabaseSettings,
        ExecutorSettings,
        IdentitySettings,
        LakeSettings,
        LogsSettings,
    )

# The schemas are imported when an environment is loaded, not with this module: code that only
# names `Environment` in a signature (a task module, read by `inv --list`) never pays for them.
_CORE_SCHEMAS = (
    "AwsSettings",
    "DatabaseSettings",
    "ExecutorSettings",
    "IdentitySettings",
    "LakeSettings",
    "LogsSettings",
)


def __getattr__(name: str) -> Any:
    """The core sections' schemas, still importable from here by their public names."""
    if name in _CORE_SCHEMAS:
        from common.settings import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


REPO_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS_DIR_VARIABLE = "REFINERY_ENVIRONMENTS_DIR"
STATE_DIR_VARIABLE = "REFINERY_STATE_DIR"
# Another database of the environment's own server, for a process started to work on a copy
# beside the live one (the smoke run of `inv staging.refresh`); its workers inherit it.
DATABASE_NAME_VARIABLE = "REFINERY_DATABASE_NAME"
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def environments_dir() -> Path:
    """Where environment files live; tests point this at a temporary folder."""
    return Path(
        os.environ.get(ENVIRONMENTS_DIR_VARIABLE, REPO_ROOT / "infrastructure/environments")
    )


def state_root() -> Path:
    """The git-ignored folder for everything a local run keeps (database, lake, logs)."""
    return Path(os.environ.get(STATE_DIR_VARIABLE, REPO_ROOT / ".state"))


def user_cache_root() -> Path:
    """Refinery's folder in the user's cache, outside any clone: what one machine builds once
    and every checkout on it shares (the Docker engine's data, the base image's wheels)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "refinery"


# Where the last-read Terraform outputs of an environment are kept, in its state folder.
TERRAFORM_OUTPUTS_FILE = "terraform-outputs.json"
TERRAFORM_PREFIX = "terraform:"
# The sections that are fields of Environment; every other section is kept in `extra`.
_CORE_SECTIONS = ("database", "lake", "executor", "aws", "logs")


@dataclass(frozen=True)
class Environment:
    """One deployment of the platform, as read from its file.

    `load_environment` has validated every section of the file; `settings(name)` gives one
    of them as its schema (see `common.settings`), and `section(name)` the table as written.
    """

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
        return self.settings("identity").bot_user

    def settings(self, name: str, cls: type | None = None) -> Any:
        """Section `name` as its declared schema (defaults when the file has no such table).

        `cls`, if given, must be that schema: it documents at the call site what comes back.
        """
        from common.settings import validate_section

        if name in ("database", "lake", "executor", "aws"):
            value = getattr(self, name)
        else:
            value = validate_section(self.path, name, self.section(name))
        if cls is not None and not isinstance(value, cls):
            raise TypeError(f"[{name}] is declared as {type(value).__name__}, not {cls.__name__}")
        return value

    def section(self, name: str) -> dict[str, Any]:
        """The table `[name]` as written in the file ({} when absent)."""
        value = self.logs if name == "logs" else self.extra.get(name, {})
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


def _apply_deployed_settings(env: Environment, variables: Mapping[str, str]) -> Environment:
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
                if not is_digits(value):
                    raise ConfigError(f"{variable} must be a port number, not {value!r}")
                database = dataclasses.replace(database, port=int(value))
            else:
                changes: dict[str, Any] = {key: value}  # the key names a str-valued field
                database = dataclasses.replace(database, **changes)
        elif section == "lake" and lake.backend == "s3":
            lake = dataclasses.replace(lake, bucket=value)
        elif section == "logs":
            logs[key] = value
    return dataclasses.replace(env, database=database, lake=lake, logs=logs)


def _parse(name: str, path: Path, data: dict[str, Any]) -> Environment:
    """Validate every section (one-line ConfigError otherwise) and build the Environment."""
    from common.settings import validate_file
    from common.settings.core import AwsSettings

    sections = validate_file(path, data)
    database = sections["database"]
    if os.environ.get(DATABASE_NAME_VARIABLE):  # a copy beside the live database (a refresh)
        database = dataclasses.replace(database, name=os.environ[DATABASE_NAME_VARIABLE])
    return Environment(
        name=name,
        path=path,
        database=database,
        lake=sections["lake"],
        executor=sections["executor"],
        logs=dict(data.get("logs", {"kind": "files"})),
        aws=sections["aws"] if "aws" in sections else AwsSettings(),
        extra={
            key: value
            for key, value in data.items()
            if key not in _CORE_SECTIONS and key in sections
        },
    )
