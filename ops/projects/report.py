"""What `inv projects.show` shows: the project, its imports, its samples with their merged
metadata, and its metadata syncs. Logic only; the task renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.db import connection
from common.environments import Environment
from common.projects import (
    DEFAULT_SOURCE,
    Project,
    add_project,
    find_project,
    list_projects,
    project_imports,
    project_samples,
)
from ops.metadata.runs import recent_runs
from workers.schemas import validation as schemas


@dataclass(frozen=True)
class ProjectReport:
    project: Project
    imports: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    syncs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project.as_dict(),
            "imports": self.imports,
            "samples": self.samples,
            "syncs": self.syncs,
        }


def create_project(
    env: Environment,
    code: str,
    *,
    title: str,
    owner: str,
    schema_version: int | str | None,
    source: str = DEFAULT_SOURCE,
) -> Project:
    """Set up a project that follows `schema_version` of the metadata records (default: the
    newest version kept in the repository)."""
    kind = "metadata_record"
    version = (
        schemas.latest_version(kind)
        if schema_version in (None, "")
        else schemas.check_version(kind, schema_version)
    )
    with connection(env) as conn:
        project = add_project(
            conn, code, title=title, owner=owner, schema_version=version, source=source
        )
        conn.commit()
        return project


def all_projects(env: Environment) -> list[Project]:
    with connection(env) as conn:
        return list_projects(conn)


def project_report(env: Environment, code: str, *, source: str | None = None) -> ProjectReport:
    with connection(env) as conn:
        project = find_project(conn, code, source=source)
        return ProjectReport(
            project,
            project_imports(conn, project.id),
            project_samples(conn, project.id),
            recent_runs(conn, project.id, limit=5),
        )
