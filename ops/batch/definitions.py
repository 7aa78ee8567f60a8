"""Job-definition templates (`infrastructure/batch/<pipeline>.json.j2`), rendered and checked.

One template per pipeline, rendered once per memory tier of the environment, so the foreman
can retry a job with more memory by submitting it to the next tier's definition. Every
rendered definition is validated before any API call: it must be JSON, name what AWS
accepts, carry sane memory and vCPUs, a timeout, and a retry strategy that retries spot
interruptions (`Host EC2*`) — a bad template fails the whole set, nothing is registered.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from common.environments import REPO_ROOT, Environment
from common.errors import ConfigError, ValidationError
from foreman.executors.batch import job_definition_name

TEMPLATES_DIR = REPO_ROOT / "infrastructure" / "batch"
TEMPLATE_SUFFIX = ".json.j2"
_MIN_MEMORY_MB, _MAX_MEMORY_MB = 512, 1_048_576
_MIN_TIMEOUT_S = 60
_SPOT_INTERRUPTION = "Host EC2 (instance i-0123) terminated."


def pipelines(templates_dir: Path = TEMPLATES_DIR) -> list[str]:
    """Pipelines that have a template (files starting with `_` are shared layouts)."""
    return sorted(
        path.name.removesuffix(TEMPLATE_SUFFIX)
        for path in templates_dir.glob(f"*{TEMPLATE_SUFFIX}")
        if not path.name.startswith("_")
    )


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
    """Every pipeline × memory tier, rendered and validated (ValidationError otherwise)."""
    loader = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    found = pipelines(templates_dir)
    if not found:
        raise ConfigError(f"no job-definition templates in {templates_dir}")
    tiers = env.executor.memory_tiers_mb
    if not tiers:
        raise ConfigError(f"{env.path.name}: executor.memory_tiers_mb is empty")
    flat_outputs = _Outputs({key: _output_value(value) for key, value in outputs.items()})
    rendered: list[dict[str, Any]] = []
    for pipeline in found:
        template_name = f"{pipeline}{TEMPLATE_SUFFIX}"
        for tier in tiers:
            name = job_definition_name(env, pipeline, tier)
            context = {
                "name": name,
                "environment": env.name,
                "version": version,
                "image": image,
                "pipeline": pipeline,
                "memory_mb": int(tier),
                "vcpus": vcpus_for(int(tier)),
                "outputs": flat_outputs,
            }
            try:
                text = loader.get_template(template_name).render(**context)
            except jinja2.UndefinedError as exc:
                raise ValidationError(f"{template_name} ({tier} MB): {exc.message}") from None
            except ValidationError as exc:
                raise ValidationError(f"{template_name} ({tier} MB): {exc}") from None
            except (jinja2.TemplateError, TypeError) as exc:
                raise ValidationError(f"{template_name}: template error: {exc}") from None
            definition = _parse(template_name, tier, text)
            validate_job_definition(definition, expected_name=name, memory_mb=int(tier))
            rendered.append(definition)
    return rendered


class _Outputs(dict):
    """Terraform outputs for templates: a missing one is a clear error, not an empty value."""

    def __missing__(self, key: str) -> Any:
        raise ValidationError(
            f"Terraform output {key!r} is missing: apply the stack or set [outputs] {key}"
        )


def _output_value(value: Any) -> Any:
    # `terraform output -json` wraps each value as {"value": …, "type": …, "sensitive": …}.
    if isinstance(value, dict) and "value" in value and "type" in value:
        return value["value"]
    return value


def _parse(template_name: str, tier: int, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{template_name} ({tier} MB) is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(value, dict):
        raise ValidationError(f"{template_name} must render to a JSON object")
    return value


def validate_job_definition(
    definition: dict[str, Any], *, expected_name: str, memory_mb: int
) -> None:
    """Raise ValidationError (one line, naming the definition) if it is not deployable."""
    name = definition.get("jobDefinitionName")

    def fail(problem: str) -> None:
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
