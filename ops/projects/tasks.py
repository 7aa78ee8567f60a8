"""`inv projects.*`: set up a project, list projects with what they hold, show one."""

from __future__ import annotations

import json as json_module

from invoke import Collection, Context

from common.projects import DEFAULT_SOURCE, SOURCES
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task

SOURCE_HELP = f"where the project's data comes from: {', '.join(SOURCES)}"
COUNT_COLUMNS = ("individuals", "samples", "experiments", "files", "analyses")


@task(
    help={
        "env": ENV_HELP,
        "code": "the project's code (what sample sheets call it), e.g. CRC-2026",
        "title": "a title people recognise",
        "owner": "who answers for the project (a person or group)",
        "schema_version": "the metadata record schema version it follows (default: newest)",
        "source": f"{SOURCE_HELP} (default {DEFAULT_SOURCE})",
        "json": JSON_HELP,
    }
)
def add(
    c: Context,
    env: str,
    code: str,
    title: str = "",
    owner: str = "",
    schema_version: str = "",
    source: str = DEFAULT_SOURCE,
    json: bool = False,
) -> None:
    """Set up a project: code, title, owner and the metadata schema version it follows."""
    from ops.projects.report import create_project

    project = create_project(
        environment(env),
        code,
        title=title,
        owner=owner,
        schema_version=schema_version,
        source=source,
    )
    if json:
        print_json(project.as_dict())
        return
    console.print(
        f"project {project.code} ({project.source}) created: {project.title!r}, owner "
        f"{project.owner}, metadata schema v{project.schema_version}"
    )


@task(help={"env": ENV_HELP, "json": JSON_HELP}, read_only=True)
def list_(c: Context, env: str, json: bool = False) -> None:
    """List projects with their owner, schema version and counts of what they hold."""
    from ops.projects.report import all_projects

    projects = all_projects(environment(env))
    if json:
        print_json([project.as_dict() for project in projects])
        return
    print_table(
        f"projects in {env}",
        ("code", "source", "title", "owner", "schema", *COUNT_COLUMNS),
        (
            (
                p.code,
                p.source,
                p.title,
                p.owner,
                f"v{p.schema_version}",
                *(getattr(p, name) for name in COUNT_COLUMNS),
            )
            for p in projects
        ),
        caption=f"{len(projects)} projects",
    )


@task(
    help={
        "env": ENV_HELP,
        "code": "the project's code",
        "source": f"{SOURCE_HELP} (only when the code exists under several)",
        "json": JSON_HELP,
    },
    read_only=True,
)
def show(c: Context, env: str, code: str, source: str = "", json: bool = False) -> None:
    """Show a project: counts, imports with their schema versions, samples with metadata."""
    from ops.metadata.runs import counts_line
    from ops.projects.report import project_report

    report = project_report(environment(env), code, source=source or None)
    if json:
        print_json(report.as_dict())
        return
    p = report.project
    console.print(f"{p.code} ({p.source}) {p.title}")
    console.print(
        f"owner {p.owner or '—'}; metadata schema v{p.schema_version}; "
        f"created {p.created_at:%Y-%m-%d %H:%M}"
    )
    print_table("holds", COUNT_COLUMNS, [[getattr(p, name) for name in COUNT_COLUMNS]])
    if report.imports:
        print_table(
            "imports",
            ("kind", "schema", "origin", "when"),
            (
                (
                    i["kind"],
                    f"v{i['schema_version']}",
                    i["origin"],
                    f"{i['created_at']:%Y-%m-%d %H:%M}",
                )
                for i in report.imports
            ),
        )
    if report.samples:
        print_table(
            "samples and their metadata",
            ("individual", "species", "individual metadata", "sample", "tissue", "metadata"),
            (
                (
                    s["individual"],
                    s["species"],
                    _fields(s["individual_metadata"]),
                    s["sample"],
                    s["tissue"],
                    _fields(s["sample_metadata"]),
                )
                for s in report.samples
            ),
        )
    if report.syncs:
        print_table(
            "metadata syncs",
            ("run", "source", "started", "state", "counts / error"),
            (
                (
                    r["id"],
                    r["source"],
                    f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
                    r["state"],
                    r["error"] or counts_line(r["summary"]),
                )
                for r in report.syncs
            ),
        )


def _fields(metadata: dict) -> str:
    return ", ".join(
        f"{k}={json_module.dumps(v) if not isinstance(v, str) else v}"
        for k, v in sorted((metadata or {}).items())
    )


ns = Collection("projects")
ns.add_task(add)
ns.add_task(list_, name="list")
ns.add_task(show)
