"""Job definitions for every pipeline the workers can run, rendered from templates and checked.

The pipelines are the declared applications (`common.applications`: the `applications.toml`
beside each handler module): one per (job kind, name) — `survey-delivery`, `survey-ena`,
`survey-geo`, `download`, `process-no_op`, `process-fastq_qc`… — so a new application gets its
definitions from its declaration, with the image it names (beside the workers image: same
registry and tag). Each is rendered from `infrastructure/batch/<pipeline>.json.j2` when that
exists (its own vCPUs or timeout), else from its kind's `<kind>.json.j2`, once per memory tier
of the environment, so the foreman can retry a job with more memory on the next tier's definition.
A definition runs the release's workers image unless its template names another of the same
release (`images.salmon` for the index and quantification pipelines; ops.images.settings).

A definition carries what its container needs and nothing from the deploying machine: the
environment's name (the image carries the environment files) and the settings that come
from the stack (common.environments.DEPLOYED_SETTINGS: database host, port, name and user,
the ARN of the secret holding the password, the lake bucket, the log group), resolved from
the stack's outputs now. Never a password.

Every rendered definition is validated before any API call: it must be JSON, name what AWS
accepts, carry sane memory and vCPUs, a timeout, and a retry strategy that retries spot
interruptions (`Host EC2*`) — a bad template fails the whole set, nothing is registered.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import jinja2

from common.applications import DEFAULT_IMAGE, Application, applications
from common.environments import DEPLOYED_SETTINGS, REPO_ROOT, TERRAFORM_PREFIX, Environment
from common.errors import ConfigError, ValidationError
from foreman.executors.batch import job_definition_name
from ops.images.settings import release_images

TEMPLATES_DIR = REPO_ROOT / "infrastructure" / "batch"
TEMPLATE_SUFFIX = ".json.j2"
_MIN_MEMORY_MB, _MAX_MEMORY_MB = 512, 1_048_576
_MIN_TIMEOUT_S = 60
_SPOT_INTERRUPTION = "Host EC2 (instance i-0123) terminated."
# Set by the shared template for every definition.
TEMPLATE_VARIABLES = (
    "REFINERY_ENVIRONMENT",
    "REFINERY_VERSION",
    "REFINERY_PIPELINE",
    "REFINERY_MEMORY_MB",
)


def pipelines() -> list[str]:
    """Every declared application's pipeline: one per (job kind, name)."""
    return sorted(application.pipeline for application in applications().values())


def image_for(application: Application, workers_image: str) -> str:
    """The reference of the image `application` runs in: the workers image's, with the
    application's image name in place of `workers` (same registry, same tag)."""
    if application.image == DEFAULT_IMAGE:
        return workers_image
    repository, _, tag = workers_image.rpartition(":")
    if "/" in tag or not repository:  # no tag: a `host:port/name` reference
        repository, tag = workers_image, ""
    prefix, _, _ = repository.rpartition("/")
    reference = f"{prefix}/{application.image}" if prefix else application.image
    return f"{reference}:{tag}" if tag else reference


def template_for(kind: str, pipeline: str, templates_dir: Path = TEMPLATES_DIR) -> str:
    """The pipeline's own template, else its kind's; a ConfigError when neither exists."""
    for name in (pipeline, kind):
        if (templates_dir / f"{name}{TEMPLATE_SUFFIX}").is_file():
            return f"{name}{TEMPLATE_SUFFIX}"
    raise ConfigError(
        f"no job-definition template for pipeline {pipeline}: add {templates_dir.name}/"
        f"{kind}{TEMPLATE_SUFFIX} (every {kind} pipeline) or {pipeline}{TEMPLATE_SUFFIX}"
    )


def container_settings(env: Environment, outputs: Mapping[str, Any]) -> dict[str, str]:
    """The DEPLOYED_SETTINGS variables of `env`'s workers, resolved against the stack's
    `outputs`: a `terraform:<output>` setting takes that output's value."""
    values: dict[str, Any] = {}
    database = env.database
    if database.kind == "dsn":
        values["REFINERY_DATABASE_HOST"] = _resolved(database.host, outputs, "database.host")
        values["REFINERY_DATABASE_PORT"] = database.port
        values["REFINERY_DATABASE_NAME"] = database.name
        values["REFINERY_DATABASE_USER"] = database.user
        if database.password_secret:
            values["REFINERY_DATABASE_PASSWORD_SECRET"] = _resolved(
                database.password_secret, outputs, "database.password_secret"
            )
    if env.lake.backend == "s3":
        stack_bucket = outputs.get("lake_bucket")
        if stack_bucket is not None and _output_value(stack_bucket) != env.lake.bucket:
            raise ValidationError(
                f"{env.path.name}: lake.bucket is {env.lake.bucket!r} but the stack's lake "
                f"bucket is {_output_value(stack_bucket)!r}; workers would write elsewhere"
            )
        values["REFINERY_LAKE_BUCKET"] = env.lake.bucket
    values["REFINERY_LOG_GROUP"] = outputs["log_group_name"]
    return {key: str(value) for key, value in values.items()}


def _resolved(value: str, outputs: Mapping[str, Any], setting: str) -> Any:
    if not value.startswith(TERRAFORM_PREFIX):
        return value
    name = value.removeprefix(TERRAFORM_PREFIX)
    found = outputs[name]  # a missing output is the _Outputs error naming it
    if not isinstance(found, str | int) or found in ("", None):
        raise ValidationError(f"{setting}: Terraform output {name} has no value")
    return found


def vcpus_for(memory_mb: int) -> int:
    """The default vCPUs of a tier: one per 4 GiB, at least one."""
    return max(1, memory_mb // 4096)


def render_job_definitions(
    env: Environment,
    *,
    version: str,
    image: str,
    outputs: Mapping[str, Any],
    templates_dir: Path = TEMPLATES_DIR,
) -> list[dict[str, Any]]:
    """Every pipeline × memory tier, rendered and validated (ValidationError otherwise).

    `image` is the release's workers image; the others a template may name are its siblings.
    """
    loader = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    tiers = env.executor.memory_tiers_mb
    if not tiers:
        raise ConfigError(f"{env.path.name}: executor.memory_tiers_mb is empty")
    flat_outputs = _Outputs({key: _output_value(value) for key, value in outputs.items()})
    settings = container_settings(env, flat_outputs)
    extra = job_environment(env)
    images = _Images(release_images(image))
    rendered: list[dict[str, Any]] = []
    for application in sorted(applications().values(), key=lambda a: (a.kind, a.name)):
        pipeline, kind = application.pipeline, application.kind
        template_name = template_for(kind, pipeline, templates_dir)
        for memory_mb in tiers:
            name = job_definition_name(env.name, pipeline, memory_mb)
            context = {
                "name": name,
                "environment": env.name,
                "version": version,
                "image": image_for(application, image),
                "images": images,
                "pipeline": pipeline,
                "kind": kind,
                "handler": application.name,
                "settings": settings,
                "job_environment": extra,
                "memory_mb": int(memory_mb),
                "vcpus": vcpus_for(int(memory_mb)),
                "outputs": flat_outputs,
            }
            try:
                text = loader.get_template(template_name).render(**context)
            except jinja2.UndefinedError as exc:
                raise ValidationError(f"{template_name} ({memory_mb} MB): {exc.message}") from None
            except ValidationError as exc:
                raise ValidationError(f"{template_name} ({memory_mb} MB): {exc}") from None
            except (jinja2.TemplateError, TypeError) as exc:
                raise ValidationError(f"{template_name}: template error: {exc}") from None
            definition = _parse(template_name, memory_mb, text)
            validate_job_definition(definition, expected_name=name, memory_mb=int(memory_mb))
            rendered.append(definition)
    return rendered


def job_environment(env: Environment) -> dict[str, str]:
    """`[batch] job_environment`: plain variables every definition carries (log level…).

    Anyone who may describe job definitions reads them, so they are never secrets: AWS
    credentials are refused unless the environment talks to an emulator (`[aws]
    endpoint_url`, which takes any key), and so is the database password's variable.
    """
    table = env.section("batch").get("job_environment", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{env.path}: batch.job_environment must be a table")
    refused = {env.database.password_env, "PGPASSWORD", *DEPLOYED_SETTINGS, *TEMPLATE_VARIABLES}
    if not env.aws.endpoint_url:
        refused |= {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    for name, value in table.items():
        if name in refused:
            raise ConfigError(
                f"{env.path}: batch.job_environment may not set {name}: job definitions are "
                "readable by anyone who may describe them"
            )
        if not isinstance(value, str):
            raise ConfigError(f"{env.path}: batch.job_environment.{name} must be a string")
    return dict(table)


class _Outputs(dict):
    """Terraform outputs for templates: a missing one is a clear error, not an empty value."""

    def __missing__(self, key: str) -> Any:
        raise ValidationError(
            f"Terraform output {key!r} is missing: apply the stack or set [outputs] {key}"
        )


class _Images(dict):
    """The release's images for templates: naming one it does not have is a clear error."""

    def __missing__(self, key: str) -> Any:
        raise ValidationError(f"no image {key!r} in a release (known: {', '.join(sorted(self))})")


def _output_value(value: Any) -> Any:
    # `terraform output -json` wraps each value as {"value": …, "type": …, "sensitive": …}.
    if isinstance(value, dict) and "value" in value and "type" in value:
        return value["value"]
    return value


def _parse(template_name: str, memory_mb: int, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{template_name} ({memory_mb} MB) is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(value, dict):
        raise ValidationError(f"{template_name} must render to a JSON object")
    return value


def validate_job_definition(
    definition: dict[str, Any], *, expected_name: str, memory_mb: int
) -> None:
    """Raise ValidationError (one line, naming the definition) if it is not deployable."""
    name = definition.get("jobDefinitionName")

    def fail(problem: str) -> NoReturn:
        raise ValidationError(f"job definition {name or expected_name}: {problem}")

    if name != expected_name:
        fail(f"jobDefinitionName must be {expected_name!r}")
    if definition.get("type") != "container":
        fail("type must be 'container'")
    container = definition.get("containerProperties")
    if not isinstance(container, dict):
        fail("containerProperties is required")
    for key in ("image", "command", "jobRoleArn", "resourceRequirements"):
        if not container.get(key):
            fail(f"containerProperties.{key} is required")
    if not isinstance(container["command"], list) or not all(
        isinstance(part, str) for part in container["command"]
    ):
        fail("containerProperties.command must be a list of strings")
    resources = {item.get("type"): item.get("value") for item in container["resourceRequirements"]}
    memory, vcpus = _as_int(resources.get("MEMORY")), _as_int(resources.get("VCPU"))
    if memory != memory_mb:
        fail(f"MEMORY must be the tier's {memory_mb} MB (found {resources.get('MEMORY')!r})")
    if not _MIN_MEMORY_MB <= memory <= _MAX_MEMORY_MB:
        fail(f"MEMORY {memory} MB is outside {_MIN_MEMORY_MB}..{_MAX_MEMORY_MB}")
    if vcpus is None or not 1 <= vcpus <= 96:
        fail(f"VCPU must be 1..96 (found {resources.get('VCPU')!r})")
    if memory // vcpus < 256:
        fail(f"{vcpus} vCPUs with {memory} MB leaves under 256 MB per vCPU")
    timeout = (definition.get("timeout") or {}).get("attemptDurationSeconds")
    if not isinstance(timeout, int) or timeout < _MIN_TIMEOUT_S:
        fail(f"timeout.attemptDurationSeconds must be an integer ≥ {_MIN_TIMEOUT_S}")
    _validate_retry_strategy(definition.get("retryStrategy"), fail)


def _validate_retry_strategy(strategy: Any, fail: Any) -> None:
    if not isinstance(strategy, dict):
        fail("retryStrategy is required (spot interruptions must be retried)")
    attempts = strategy.get("attempts")
    if not isinstance(attempts, int) or not 2 <= attempts <= 10:
        fail("retryStrategy.attempts must be 2..10 so a spot interruption can be retried")
    rules = strategy.get("evaluateOnExit") or []
    # AWS applies the first matching rule: a spot interruption must hit a RETRY first.
    for rule in rules:
        pattern = rule.get("onStatusReason")
        if pattern and fnmatch.fnmatchcase(_SPOT_INTERRUPTION, pattern):
            if str(rule.get("action", "")).upper() == "RETRY":
                return
            fail("retryStrategy sends spot interruptions ('Host EC2*') to EXIT, not RETRY")
        if "*" in (rule.get("onReason"), rule.get("onExitCode"), pattern):
            fail("a catch-all evaluateOnExit rule comes before the 'Host EC2*' RETRY rule")
    fail("retryStrategy.evaluateOnExit needs onStatusReason 'Host EC2*' → RETRY")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
