"""Register rendered job definitions with AWS Batch and prune old revisions.

Registration renders and validates the whole set first, so an invalid template stops
before any API call. Pruning keeps the newest `keep` ACTIVE revisions of each of this
environment's definitions (older ones are what a rollback would need, so keep ≥ 2) and
defaults to a dry run that lists exactly what it would deregister.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.environments import Environment
from common.errors import ConfigError, RefineryError, first_line
from foreman.executors.batch import batch_client
from ops.batch.definitions import job_definition_name, pipelines, render_job_definitions


class BatchApiError(RefineryError):
    """AWS Batch refused a request."""


@dataclass(frozen=True)
class RegisteredDefinition:
    """A job definition revision AWS Batch now holds."""

    name: str
    revision: int
    arn: str
    image: str
    memory_mb: int


@dataclass(frozen=True)
class PrunedRevision:
    """A revision that pruning deregistered (or, in a dry run, would deregister)."""

    name: str
    revision: int
    arn: str
    deregistered: bool


def register_job_definitions(
    env: Environment,
    *,
    version: str,
    image: str,
    outputs: Mapping[str, Any],
    client: Any = None,
) -> list[RegisteredDefinition]:
    """Render, validate, then register every pipeline × tier definition."""
    definitions = render_job_definitions(env, version=version, image=image, outputs=outputs)
    client = client or batch_client(env)
    registered: list[RegisteredDefinition] = []
    for definition in definitions:
        try:
            response = client.register_job_definition(**definition)
        except Exception as exc:
            raise BatchApiError(
                f"registering {definition['jobDefinitionName']} failed: {first_line(exc)}"
            ) from None
        memory = next(
            int(item["value"])
            for item in definition["containerProperties"]["resourceRequirements"]
            if item["type"] == "MEMORY"
        )
        registered.append(
            RegisteredDefinition(
                name=response["jobDefinitionName"],
                revision=int(response["revision"]),
                arn=response["jobDefinitionArn"],
                image=definition["containerProperties"]["image"],
                memory_mb=memory,
            )
        )
    return registered


def environment_definition_names(env: Environment) -> list[str]:
    """Names of every definition this environment's templates and tiers produce."""
    return [
        job_definition_name(env.name, pipeline, memory_mb)
        for pipeline in pipelines()
        for memory_mb in env.executor.memory_tiers_mb
    ]


def prune_job_definitions(
    env: Environment, *, keep: int, dry_run: bool = True, client: Any = None
) -> list[PrunedRevision]:
    """Deregister all but the newest `keep` ACTIVE revisions of each definition."""
    if keep < 1:
        raise ConfigError("--keep must be at least 1 (the revision in use)")
    client = client or batch_client(env)
    pruned: list[PrunedRevision] = []
    for name in environment_definition_names(env):
        revisions = sorted(
            _active_revisions(client, name), key=lambda item: item["revision"], reverse=True
        )
        for old in revisions[keep:]:
            if not dry_run:
                try:
                    client.deregister_job_definition(jobDefinition=old["jobDefinitionArn"])
                except Exception as exc:
                    raise BatchApiError(
                        f"deregistering {name}:{old['revision']} failed: {first_line(exc)}"
                    ) from None
            pruned.append(
                PrunedRevision(name, int(old["revision"]), old["jobDefinitionArn"], not dry_run)
            )
    return pruned


def _active_revisions(client: Any, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    paginator = client.get_paginator("describe_job_definitions")
    for page in paginator.paginate(jobDefinitionName=name, status="ACTIVE"):
        found.extend(
            item for item in page["jobDefinitions"] if item.get("status", "ACTIVE") == "ACTIVE"
        )
    return found
