"""AWS Batch job definitions: render from templates, validate, register, prune."""

from __future__ import annotations

from ops.batch.definitions import (
    job_definition_name,
    pipelines,
    render_job_definitions,
    validate_job_definition,
)
from ops.batch.registration import (
    PrunedRevision,
    RegisteredDefinition,
    prune_job_definitions,
    register_job_definitions,
)

__all__ = [
    "PrunedRevision",
    "RegisteredDefinition",
    "job_definition_name",
    "pipelines",
    "prune_job_definitions",
    "register_job_definitions",
    "render_job_definitions",
    "validate_job_definition",
]
